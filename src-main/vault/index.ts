export * from './handlers.ts';
export * from './redactor.ts';
export * from './refs.ts';
export * from './vault.ts';
