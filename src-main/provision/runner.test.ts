import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../ipc/errors.ts';
import type { ProvisionProgress } from '../ipc/types.ts';
import { type Connection, RefusedError, runPlan } from './runner.ts';
import type { Plan, RemoteShell, Step } from './types.ts';

// The runner against an in-memory "host": steps mutate a Map, so what was applied, skipped,
// undone and resumed is visible as host state, not just as runner bookkeeping.

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ef-runner-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const fakeRemote: RemoteShell = {
  host: 'h1',
  sh: async () => ({ code: 0, stdout: '', stderr: '' }),
  pipe: async () => {
    throw new Error('no pipes here');
  },
};

function connector() {
  const c = {
    count: 0,
    connect: async (): Promise<Connection> => {
      c.count++;
      return { remote: fakeRemote, close: () => undefined };
    },
  };
  return c;
}

function setStep(
  host: Map<string, string>,
  key: string,
  opts: { failTimes?: number; error?: () => Error } = {},
): Step<object> {
  let failures = opts.failTimes ?? 0;
  return {
    name: `set-${key}`,
    title: `set ${key}`,
    check: async () => host.get(key) === 'on',
    apply: async (ctx) => {
      ctx.progress(50, { sent: 10, total: 20 });
      if (failures > 0 || (opts.error && !opts.failTimes)) {
        failures--;
        throw opts.error ? opts.error() : new Error('boom');
      }
      host.set(key, 'on');
    },
    undo: async () => {
      host.delete(key);
    },
  };
}

describe('runPlan', () => {
  it('applies steps in order, skips what is already done, and reports progress per step', async () => {
    const host = new Map([['b', 'on']]);
    const plan: Plan<object> = {
      name: 'p',
      initialFacts: {},
      steps: ['a', 'b', 'c'].map((k) => setStep(host, k)),
    };
    const events: ProvisionProgress[] = [];
    const c = connector();
    const r = await runPlan('h1', plan, {
      runId: 'r1',
      stateDir: dir,
      connect: c.connect,
      onProgress: (e) => events.push(e),
    });
    expect(r.status).toBe('done');
    expect(r.applied).toEqual(['set-a', 'set-c']);
    expect(r.skipped).toEqual(['set-b']);
    expect([...host.keys()].sort()).toEqual(['a', 'b', 'c']);
    expect(events.filter((e) => e.status !== 'running').map((e) => `${e.step}:${e.status}`)).toEqual([
      'set-a:done',
      'set-b:skipped',
      'set-c:done',
    ]);
    expect(events.find((e) => e.bytes)?.bytes).toEqual({ sent: 10, total: 20 });
    expect(r.bytesSent).toBe(20);
    expect(await readFile(r.logFile, 'utf8')).toMatch(/step set-c: done/);
  });

  it('rolls back what this run applied, in reverse, when a step fails', async () => {
    const host = new Map([['a', 'on']]);
    const undone: string[] = [];
    const steps = [
      setStep(host, 'a'),
      setStep(host, 'b'),
      setStep(host, 'c'),
      setStep(host, 'd', { error: () => new Error('disk on fire') }),
    ];
    for (const s of steps) {
      const u = s.undo;
      s.undo = async (ctx) => {
        undone.push(s.name);
        await u?.(ctx);
      };
    }
    const r = await runPlan(
      'h1',
      { name: 'p', initialFacts: {}, steps },
      { runId: 'r2', stateDir: dir, connect: connector().connect },
    );
    expect(r.status).toBe('failed');
    expect(r.failedStep).toBe('set-d');
    expect(r.error?.message).toBe('disk on fire');
    // The failed step is undone too (it may have half-applied); a was there before the run: not ours to undo.
    expect(undone).toEqual(['set-d', 'set-c', 'set-b']);
    expect([...host.keys()]).toEqual(['a']);
  });

  it('reconnects after a lost connection and continues at the failed step', async () => {
    const host = new Map<string, string>();
    const lost = () => new AppError('ssh/connection-lost', 'link down');
    const a = setStep(host, 'a');
    let aRuns = 0;
    const applyA = a.apply;
    a.apply = async (ctx) => {
      aRuns++;
      await applyA(ctx);
    };
    const steps = [a, setStep(host, 'b', { failTimes: 2, error: lost })];
    const c = connector();
    const r = await runPlan(
      'h1',
      { name: 'p', initialFacts: {}, steps },
      { runId: 'r3', stateDir: dir, connect: c.connect, reconnectDelayMs: 1 },
    );
    expect(r.status).toBe('done');
    expect(c.count).toBe(3);
    expect(aRuns).toBe(1);
    expect(host.get('b')).toBe('on');
  });

  it('leaves an interrupted run resumable from its state file, without rolling back', async () => {
    const host = new Map<string, string>();
    let linkUp = false;
    const b = setStep(host, 'b');
    const applyB = b.apply;
    b.apply = async (ctx) => {
      if (!linkUp) throw new AppError('ssh/unreachable', 'no route');
      await applyB(ctx);
    };
    let aRuns = 0;
    const a = setStep(host, 'a');
    a.check = undefined; // not detectable: only the state file can say it was done
    const applyA = a.apply;
    a.apply = async (ctx) => {
      aRuns++;
      await applyA(ctx);
    };
    const plan = { name: 'p', initialFacts: {}, steps: [a, b] };
    const first = await runPlan('h1', plan, {
      runId: 'r4',
      stateDir: dir,
      connect: connector().connect,
      maxReconnects: 1,
      reconnectDelayMs: 1,
    });
    expect(first.status).toBe('interrupted');
    expect(host.get('a')).toBe('on');
    linkUp = true;
    const second = await runPlan('h1', plan, { runId: 'r4', stateDir: dir, connect: connector().connect });
    expect(second.status).toBe('done');
    expect(aRuns).toBe(1);
    expect(host.get('b')).toBe('on');
  });

  it('a refusal changes nothing and rolls nothing back', async () => {
    const host = new Map<string, string>();
    const steps: Step<object>[] = [
      {
        name: 'preflight',
        title: 'check',
        apply: async () => {
          throw new RefusedError('no-sudo', 'no sudo');
        },
      },
      setStep(host, 'a'),
    ];
    const r = await runPlan(
      'h1',
      { name: 'p', initialFacts: {}, steps },
      { runId: 'r5', stateDir: dir, connect: connector().connect },
    );
    expect(r.status).toBe('refused');
    expect(r.error?.code).toBe('refused/no-sudo');
    expect(host.size).toBe(0);
  });
});
