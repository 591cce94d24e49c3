/**
 * `npm run bench -- lab [--cold] [--hosts N] [--kwok N] [--runs N]`: lab start time.
 * Warm = every cached part present (the normal case). `--cold` first points EDGEFLEET_CACHE at
 * an empty directory so binaries and the host rootfs are built from scratch (the Go module
 * and build caches stay warm: that is what a second clone on the same machine sees).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Lab } from '../test/lab/lab.ts';

interface Figure {
  label: string;
  ms: number;
}

async function timedStart(label: string, hosts: number, kwokNodes: number): Promise<Figure> {
  const t0 = performance.now();
  const lab = await Lab.start({ hosts, kwokNodes, log: () => {} });
  const ms = performance.now() - t0;
  await lab.stop();
  return { label, ms };
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      cold: { type: 'boolean', default: false },
      hosts: { type: 'string', default: '3' },
      kwok: { type: 'string', default: '50' },
      runs: { type: 'string', default: '3' },
    },
  });
  const hosts = Number(values.hosts);
  const kwok = Number(values.kwok);
  const figures: Figure[] = [];
  if (values.cold) {
    const cache = await mkdtemp(join(tmpdir(), 'edgefleet-cold-cache-'));
    const previous = process.env.EDGEFLEET_CACHE;
    process.env.EDGEFLEET_CACHE = cache;
    try {
      const t0 = performance.now();
      await Lab.prepare(() => {});
      figures.push({ label: 'cold prepare (build binaries + rootfs)', ms: performance.now() - t0 });
      figures.push(await timedStart('first start after cold prepare', hosts, kwok));
    } finally {
      if (previous === undefined) delete process.env.EDGEFLEET_CACHE;
      else process.env.EDGEFLEET_CACHE = previous;
      await rm(cache, { recursive: true, force: true });
    }
  }
  await Lab.prepare(() => {});
  for (let i = 0; i < Number(values.runs); i++) {
    figures.push(await timedStart(`warm start #${i + 1}`, hosts, kwok));
  }
  console.log(`lab start: ${hosts} hosts, ${kwok} kwok nodes (control plane + network + hosts, all Ready)`);
  for (const f of figures) console.log(`  ${f.label.padEnd(42)} ${(f.ms / 1000).toFixed(1).padStart(7)} s`);
}
