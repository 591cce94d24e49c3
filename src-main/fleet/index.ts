export * from './api-errors.ts';
export * from './kube.ts';
export * from './service.ts';
