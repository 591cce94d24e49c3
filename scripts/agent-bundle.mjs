import { readFile, writeFile } from 'node:fs/promises';

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

/**
 * Keeps the bundle's source one-byte. V8 holds a script's whole source in the heap (lazy compilation
 * needs it), as a two-byte string if any character is beyond Latin-1: one `—` in a kept comment doubles
 * the agent's 330 KB source to 660 KB of RSS (measured). esbuild escapes strings but leaves comments and
 * regexp literals as written, so every UTF-16 unit above U+00FF becomes a `\uXXXX` escape, which means
 * the same in comments, strings, regexps, templates and identifiers (only a template's raw text, as
 * String.raw sees it, would differ; the agent has none with such characters). Source-map columns after
 * such a character on its line shift by five.
 */
export const oneByteOutput = {
  name: 'one-byte-output',
  setup(b) {
    b.onEnd(async (result) => {
      const outfile = b.initialOptions.outfile;
      if (result.errors.length > 0 || !outfile) return;
      const text = await readFile(outfile, 'utf8');
      const wide = /[\u0100-\uffff]/g;
      if (wide.test(text))
        await writeFile(
          outfile,
          text.replace(wide, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
        );
    });
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
    plugins: [builtinsViaRequire, oneByteOutput],
    logLevel: 'warning',
  };
}
