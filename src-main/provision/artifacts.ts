/**
 * What a plan sends to a node, all from the app's resources/ (nothing is downloaded): the agent
 * bundle and the Node runtime for the node's arch. Each is checked against its SHA256SUMS before
 * it leaves the laptop, and gzip-compressed once (cached by content hash) to cut bytes on the link.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { RefusedError } from './runner.ts';

export type NodeArch = 'x64' | 'arm64';

export interface Artifact {
  name: string;
  localPath: string;
  sha256: string;
  size: number;
  /** Where it ends up on the node. */
  remotePath: string;
  mode: string;
  /** The compressed form that travels. */
  gz: { path: string; sha256: string; size: number };
}

export interface Bundle {
  version: string;
  agent: Artifact;
  runtime: Artifact;
}

/** `uname -m` → our arch names; undefined when we ship nothing for it. */
export function archOf(machine: string): NodeArch | undefined {
  if (machine === 'x86_64' || machine === 'amd64') return 'x64';
  if (machine === 'aarch64' || machine === 'arm64') return 'arm64';
  return undefined;
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

async function expectedSum(sumsFile: string, name: string): Promise<string> {
  const text = await readFile(sumsFile, 'utf8');
  const line = text.split('\n').find((l) => l.trim().endsWith(` ${name}`) || l.trim().endsWith(`*${name}`));
  const sum = line?.trim().split(/\s+/)[0];
  if (!sum || !/^[0-9a-f]{64}$/.test(sum)) throw new Error(`${sumsFile} has no checksum for ${name}`);
  return sum;
}

const gzInFlight = new Map<string, Promise<{ path: string; sha256: string; size: number }>>();
const verified = new Map<string, Promise<string>>();

async function compressed(
  localPath: string,
  sha: string,
  cacheDir: string,
): Promise<{ path: string; sha256: string; size: number }> {
  const out = join(cacheDir, `${sha}.gz`);
  let p = gzInFlight.get(out);
  if (!p) {
    p = (async () => {
      await mkdir(cacheDir, { recursive: true, mode: 0o700 });
      if (!existsSync(out)) {
        const tmp = `${out}.${process.pid}.tmp`;
        await pipeline(createReadStream(localPath), createGzip({ level: 6 }), createWriteStream(tmp));
        await rename(tmp, out);
      }
      return { path: out, sha256: await sha256File(out), size: (await stat(out)).size };
    })();
    gzInFlight.set(out, p);
    p.catch(() => gzInFlight.delete(out));
  }
  return p;
}

async function artifact(
  name: string,
  localPath: string,
  sumsFile: string,
  remotePath: string,
  mode: string,
  cacheDir: string,
): Promise<Artifact> {
  const base = localPath.split('/').pop() as string;
  const expected = await expectedSum(sumsFile, base);
  let check = verified.get(localPath);
  if (!check) {
    check = sha256File(localPath);
    verified.set(localPath, check);
  }
  const actual = await check;
  if (actual !== expected)
    throw new Error(
      `${localPath} does not match ${sumsFile} (sha256 ${actual}, expected ${expected}); rebuild the app's resources`,
    );
  const size = (await stat(localPath)).size;
  return {
    name,
    localPath,
    sha256: actual,
    size,
    remotePath,
    mode,
    gz: await compressed(localPath, actual, cacheDir),
  };
}

/** The bundle for one arch; refuses (before any change) when the app ships no runtime for it. */
export async function bundleFor(
  resourcesDir: string,
  arch: NodeArch | undefined,
  machine: string,
  cacheDir: string,
): Promise<Bundle> {
  const runtimeDir = arch ? join(resourcesDir, 'node', `linux-${arch}`) : '';
  if (!arch || !existsSync(join(runtimeDir, 'node')))
    throw new RefusedError(
      'refused/no-bundle',
      `this app has no Node runtime for the node's architecture (${machine})`,
      `Build one with "node scripts/node-runtimes.mjs" (it ships linux-x64 and linux-arm64), or provision this node another way.`,
    );
  const agentDir = join(resourcesDir, 'agent');
  if (!existsSync(join(agentDir, 'VERSION')))
    throw new RefusedError(
      'refused/no-bundle',
      `this app has no EdgeFleet agent bundle (${agentDir} is missing or incomplete)`,
      'Build it with "npm run build:agent" (part of "npm run build"), then run this again.',
    );
  const version = (await readFile(join(agentDir, 'VERSION'), 'utf8')).trim();
  const [agent, runtime] = await Promise.all([
    artifact(
      'agent bundle',
      join(agentDir, 'edgefleet-agent.mjs'),
      join(agentDir, 'SHA256SUMS'),
      '/opt/edgefleet/agent/edgefleet-agent.mjs',
      '0644',
      cacheDir,
    ),
    artifact(
      'Node runtime',
      join(runtimeDir, 'node'),
      join(runtimeDir, 'SHA256SUMS'),
      '/opt/edgefleet/bin/node',
      '0755',
      cacheDir,
    ),
  ]);
  return { version, agent, runtime };
}
