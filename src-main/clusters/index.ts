export * from './kubeconfig.ts';
export * from './live-cluster.ts';
export * from './service.ts';
export * from './sources.ts';
