export * from './contract.ts';
export * from './demo-types.ts';
export * from './errors.ts';
export * from './router.ts';
export * from './types.ts';
