// esbuild options for the node agent bundle, shared by scripts/build-agent.mjs and the benchmarks
// (which must measure exactly what nodes run).

/**
 * Node built-ins reached through require() instead of ESM import. An ESM import of a built-in builds
 * its namespace from every export, which runs the lazy getters: `import 'node:http'` loads Node's
 * bundled fetch/WebSocket stack and costs ~16 MB RSS, require('node:http') ~3 MB (Node 24, measured).
 * esbuild's CJS interop reads each export only when used.
 */
export const builtinsViaRequire = {
  name: 'node-builtins-via-require',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (a) =>
      a.kind === 'import-statement' || a.kind === 'dynamic-import'
        ? { path: a.path, namespace: 'node-builtin' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'node-builtin' }, (a) => ({
      contents: `module.exports = require(${JSON.stringify(a.path)});`,
      loader: 'js',
    }));
  },
};

/** Options for bundling src-agent/main.ts (relative to `root`) into one ESM file. */
export function agentBuildOptions(root, outfile, version) {
  return {
    entryPoints: [`${root}/src-agent/main.ts`],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    sourcemap: 'linked',
    legalComments: 'none',
    define: { 'process.env.EDGEFLEET_VERSION': JSON.stringify(version) },
    // The require() the bundle and builtinsViaRequire use.
    banner: {
      js: "import { createRequire as __efRequire } from 'node:module'; const require = __efRequire(import.meta.url);",
    },
    plugins: [builtinsViaRequire],
    logLevel: 'warning',
  };
}
