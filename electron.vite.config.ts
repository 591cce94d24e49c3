import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';

// main + preload run in Electron's Node; the renderer is a plain web app (the browser host
// serves the same build). keytar and ssh2 are native/optional-native: never bundled.
export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      // Each live cluster's list/watch runs in a worker thread: its entry is a file of its own.
      lib: {
        entry: {
          main: resolve('src-main/electron/main.ts'),
          'live-worker': resolve('src-main/clusters/live-worker.ts'),
        },
      },
      rollupOptions: {
        external: ['electron', 'keytar', 'ssh2', 'cpu-features', 'ws', '@kubernetes/client-node'],
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      lib: { entry: resolve('src-main/electron/preload.ts') },
      rollupOptions: { external: ['electron'], output: { format: 'cjs' } },
    },
  },
  renderer: {
    root: 'src-renderer',
    plugins: [react()],
    build: {
      outDir: resolve('out/renderer'),
      rollupOptions: { input: resolve('src-renderer/index.html') },
    },
  },
});
