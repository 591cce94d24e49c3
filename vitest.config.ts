import { defineConfig } from 'vitest/config';

// Two projects: `unit` is fast and needs nothing but Node; `lab` starts real parts
// (kube-apiserver, etcd, network namespaces, systemd-nspawn hosts) and needs root.
// Lab files run one at a time: each owns a whole lab and the machine has 2 cores.
export default defineConfig({
  test: {
    teardownTimeout: 120_000,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src-*/**/*.test.ts', 'src-*/**/*.test.tsx', 'test/unit/**/*.test.ts'],
          environment: 'node',
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'lab',
          include: ['test/lab/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          environment: 'node',
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
