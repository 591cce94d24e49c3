export * from './contract.ts';
export * from './errors.ts';
export * from './router.ts';
export * from './types.ts';
