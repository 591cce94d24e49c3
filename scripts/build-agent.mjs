// Bundles src-agent into one self-contained ESM file for nodes (no node_modules there) and
// copies the Node runtime(s) the app ships next to it. Output: resources/agent/.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { agentBuildOptions } from './agent-bundle.mjs';

const outdir = 'resources/agent';
mkdirSync(outdir, { recursive: true });
const version = JSON.parse(readFileSync('package.json', 'utf8')).version;
await build(agentBuildOptions('.', `${outdir}/edgefleet-agent.mjs`, version));
const bundle = readFileSync(`${outdir}/edgefleet-agent.mjs`);
const sha256 = createHash('sha256').update(bundle).digest('hex');
writeFileSync(`${outdir}/VERSION`, `${version}\n`);
writeFileSync(`${outdir}/SHA256SUMS`, `${sha256}  edgefleet-agent.mjs\n`);
console.log(
  `[build-agent] ${outdir}/edgefleet-agent.mjs ${(bundle.length / 1024).toFixed(0)} KiB sha256 ${sha256.slice(0, 12)}`,
);
