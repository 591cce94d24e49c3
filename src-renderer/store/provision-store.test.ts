import { describe, expect, it } from 'vitest';
import type { ProvisionProgress, ProvisionRunInfo } from '../../src-main/ipc/types.ts';
import { applyProgress, type RunView } from './provision-store.ts';

const info: ProvisionRunInfo = {
  runId: 'r1',
  operation: 'convert',
  hosts: ['a/edge-1'],
  startedAt: '2026-01-01T00:00:00Z',
  state: 'running',
};
const p = (step: string, stepIndex: number, over: Partial<ProvisionProgress> = {}): ProvisionProgress => ({
  runId: 'r1',
  host: 'a/edge-1',
  step,
  stepIndex,
  stepCount: 3,
  status: 'running',
  percent: 0,
  ...over,
});

describe('run progress in the renderer', () => {
  it('keeps the latest state per step, in plan order, and sums upload bytes per host', () => {
    let run: RunView = { info, hosts: {}, log: [], omitted: 0 };
    run = applyProgress(run, [p('upload', 1, { percent: 40, bytes: { sent: 400, total: 1000 } })]);
    run = applyProgress(run, [p('preflight', 0, { status: 'done', percent: 100 })]);
    run = applyProgress(run, [
      p('upload', 1, { percent: 100, status: 'done', bytes: { sent: 1000, total: 1000 } }),
      p('install', 2, { percent: 0 }),
    ]);
    const h = run.hosts['a/edge-1'];
    expect(h?.steps.map((s) => [s.step, s.status, s.percent])).toEqual([
      ['preflight', 'done', 100],
      ['upload', 'done', 100],
      ['install', 'running', 0],
    ]);
    expect(h?.bytes).toEqual({ upload: 1000 });
    expect(h?.stepCount).toBe(3);
  });
});
