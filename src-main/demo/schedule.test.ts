import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SCHEDULE,
  initialState,
  maxConcurrentCuts,
  nextRandom,
  planTick,
  type ScheduleState,
  type SimAction,
} from './schedule.ts';

const nodes = (n: number) => Array.from({ length: n }, (_, i) => `node-${i}`);

/** Runs the plan for `ticks` ticks from t=0 and returns every action with its time. */
function run(names: string[], ticks: number, config = DEFAULT_SCHEDULE) {
  let state: ScheduleState = initialState(config);
  const log: { at: number; action: SimAction; cutCount: number }[] = [];
  for (let t = 1; t <= ticks; t++) {
    const now = t * config.tickMs;
    const step = planTick(state, names, now, config);
    state = step.state;
    for (const action of step.actions) log.push({ at: now, action, cutCount: state.cuts.length });
  }
  return { log, state };
}

describe('demo simulator schedule', () => {
  it('is deterministic for a seed and differs for another seed', () => {
    const a = run(nodes(300), 40).log.map((e) => e.action);
    const b = run(nodes(300), 40).log.map((e) => e.action);
    const c = run(nodes(300), 40, { ...DEFAULT_SCHEDULE, seed: 7 }).log.map((e) => e.action);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('never has more nodes cut than the bound (5%, at most 12, at least 1)', () => {
    expect(maxConcurrentCuts(300, DEFAULT_SCHEDULE)).toBe(12);
    expect(maxConcurrentCuts(100, DEFAULT_SCHEDULE)).toBe(5);
    expect(maxConcurrentCuts(24, DEFAULT_SCHEDULE)).toBe(1);
    expect(maxConcurrentCuts(0, DEFAULT_SCHEDULE)).toBe(0);
    for (const n of [24, 100, 300]) {
      const { log } = run(nodes(n), 200);
      const bound = maxConcurrentCuts(n, DEFAULT_SCHEDULE);
      expect(Math.max(...log.map((e) => e.cutCount))).toBeLessThanOrEqual(bound);
      // One new cut per 15 s tick against ~97 s per cut: about 6 at once in steady state.
      expect(log.some((e) => e.cutCount === Math.min(bound, 6))).toBe(true);
    }
  });

  it('restores every cut within its duration bounds, never cuts a node twice at once', () => {
    const { log } = run(nodes(300), 200);
    const open = new Map<string, number>();
    for (const { at, action } of log) {
      if (action.kind === 'cut') {
        expect(open.has(action.node)).toBe(false);
        const length = action.until - at;
        expect(length).toBeGreaterThanOrEqual(DEFAULT_SCHEDULE.minCutMs);
        expect(length).toBeLessThan(DEFAULT_SCHEDULE.maxCutMs);
        open.set(action.node, action.until);
      } else {
        const until = open.get(action.node);
        expect(until).toBeDefined();
        // Restored on the first tick at or after its time.
        expect(at).toBeGreaterThanOrEqual(until as number);
        expect(at - (until as number)).toBeLessThan(DEFAULT_SCHEDULE.tickMs);
        open.delete(action.node);
      }
    }
    expect(log.filter((e) => e.action.kind === 'restore').length).toBeGreaterThan(20);
  });

  it('drops a cut whose node disappeared, and does not re-cut a node in the tick that restores it', () => {
    const config = { ...DEFAULT_SCHEDULE, maxCutFraction: 1, maxCut: 1 };
    const first = planTick(initialState(config), ['a'], 0, config);
    expect(first.actions).toEqual([{ kind: 'cut', node: 'a', until: expect.any(Number) }]);
    const gone = planTick(first.state, ['b'], 1, config);
    expect(gone.actions).toEqual([{ kind: 'cut', node: 'b', until: expect.any(Number) }]);
    const restore = planTick(first.state, ['a'], 10 * config.maxCutMs, config);
    expect(restore.actions).toEqual([{ kind: 'restore', node: 'a' }]);
  });

  it('draws uniformly enough from the PRNG', () => {
    let s = 1;
    const buckets = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) {
      let r: number;
      [r, s] = nextRandom(s);
      expect(r).toBeGreaterThanOrEqual(0);
      expect(r).toBeLessThan(1);
      buckets[Math.floor(r * 4)] = (buckets[Math.floor(r * 4)] ?? 0) + 1;
    }
    for (const b of buckets) expect(b).toBeGreaterThan(850);
  });
});
