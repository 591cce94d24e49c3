export * from './contract.ts';
export * from './demo-types.ts';
export * from './errors.ts';
export * from './fleet-contract.ts';
export * from './fleet-types.ts';
export * from './router.ts';
export * from './types.ts';
export * from './workload-pods.ts';
