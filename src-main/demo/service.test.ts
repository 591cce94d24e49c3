import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DemoStatus } from '../ipc/demo-types.ts';
import { DemoService } from './service.ts';
import { LabPrerequisiteError } from './toolchain.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function service(opts: {
  missing: string[];
  ensure: (log: (line: string) => void, signal: AbortSignal | undefined) => Promise<never>;
}) {
  const dir = await mkdtemp(join(tmpdir(), 'ef-demo-svc-'));
  dirs.push(dir);
  const events: DemoStatus[] = [];
  const svc = new DemoService({
    dir,
    resourcesDir: dir,
    emit: (channel, payload) => {
      if (channel === 'demo:progress') events.push(payload as DemoStatus);
    },
    log: () => undefined,
    missingBinaries: () => opts.missing,
    ensureBinaries: (o) => opts.ensure(o.log ?? (() => undefined), o.signal),
  });
  return { svc, events };
}

describe('DemoService without a cluster', () => {
  it('first start: building with progress and the expected time, then a failure with its fix', async () => {
    const { svc, events } = await service({
      missing: ['etcd', 'kube-apiserver'],
      ensure: async (log) => {
        log('[lab] [build] go build etcd v3.6.8');
        log('[lab] [build] go build kube-apiserver v1.36.3');
        throw new LabPrerequisiteError(
          'Go toolchain not found: install Go >= 1.26 (/usr/local/go/bin on PATH)',
        );
      },
    });
    expect(svc.start(24).state).toBe('building');
    // A second start while one runs answers with the same status, starts nothing new.
    expect(svc.start(24).state).toBe('building');
    const end = await svc.settled();
    expect(events.map((e) => [e.state, e.progress?.done, e.progress?.total])).toEqual([
      ['building', 0, 2],
      ['building', 0, 2],
      ['building', 1, 2],
      ['failed', undefined, undefined],
    ]);
    expect(events[1]?.detail).toBe('First start: go build etcd v3.6.8 (1 of 2)');
    expect(events[0]?.expected).toMatch(/minutes/);
    expect(end.error).toMatchObject({
      code: 'demo/go-missing',
      fix: 'install Go >= 1.26 (/usr/local/go/bin on PATH)',
    });
    expect(svc.kubeconfigPath()).toBeUndefined();
    // The failure stays on screen after a stop (nothing ran), until the next start.
    expect((await svc.stop()).state).toBe('failed');
  });

  it('stop during a build aborts it and ends idle, not failed', async () => {
    let aborted = false;
    const { svc } = await service({
      missing: ['kube-apiserver'],
      ensure: (_log, signal) =>
        new Promise<never>((_, reject) =>
          signal?.addEventListener('abort', () => {
            aborted = true;
            reject(new Error('lab binary build aborted'));
          }),
        ),
    });
    svc.start();
    const stopped = await svc.stop();
    expect(aborted).toBe(true);
    expect(stopped.state).toBe('idle');
  });
});
