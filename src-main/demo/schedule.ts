/**
 * The demo simulator's plan, with no I/O: which kwok node to cut off and when to restore it.
 * Seeded, so a demo (and a test) replays the same sequence; bounded, so at most a few percent of
 * the fleet is ever down and every cut ends.
 */

export interface ScheduleConfig {
  /** PRNG seed: same seed and nodes → same cuts. */
  seed: number;
  /** How often the simulator looks at its plan. */
  tickMs: number;
  /** At most this share of the nodes is cut at once (floored, but at least 1)... */
  maxCutFraction: number;
  /** ...and never more than this many. */
  maxCut: number;
  /** How long one cut lasts: uniform in [minCutMs, maxCutMs]. */
  minCutMs: number;
  maxCutMs: number;
  /** New cuts started per tick while below the bound. */
  cutsPerTick: number;
}

// A cut must outlast the node-monitor grace period (20 s) to be seen as Unknown, and some cuts
// should outlast the pods' 60 s toleration so non-autonomous nodes visibly lose their pods.
export const DEFAULT_SCHEDULE: ScheduleConfig = {
  seed: 20_240_501,
  tickMs: 15_000,
  maxCutFraction: 0.05,
  maxCut: 12,
  minCutMs: 45_000,
  maxCutMs: 150_000,
  cutsPerTick: 1,
};

export interface Cut {
  node: string;
  /** Epoch ms at which the node is restored. */
  until: number;
}

export type SimAction = { kind: 'cut'; node: string; until: number } | { kind: 'restore'; node: string };

export interface ScheduleState {
  cuts: readonly Cut[];
  /** PRNG state, carried so the sequence continues across ticks. */
  rng: number;
}

/** mulberry32: a tiny, good-enough seeded PRNG. Returns [value in [0,1), next state]. */
export function nextRandom(state: number): [number, number] {
  const next = (state + 0x6d2b79f5) | 0;
  let t = next;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return [((t ^ (t >>> 14)) >>> 0) / 4_294_967_296, next];
}

export function initialState(config: ScheduleConfig): ScheduleState {
  return { cuts: [], rng: config.seed | 0 };
}

export function maxConcurrentCuts(nodeCount: number, config: ScheduleConfig): number {
  if (nodeCount === 0) return 0;
  return Math.max(1, Math.min(config.maxCut, Math.floor(nodeCount * config.maxCutFraction)));
}

/**
 * One step: restores cuts whose time is up, then cuts new nodes (not already cut) up to the
 * bound. `nodes` is the current node list; a cut node that disappeared is simply dropped.
 */
export function planTick(
  state: ScheduleState,
  nodes: readonly string[],
  now: number,
  config: ScheduleConfig,
): { state: ScheduleState; actions: SimAction[] } {
  const actions: SimAction[] = [];
  const present = new Set(nodes);
  const kept: Cut[] = [];
  for (const c of state.cuts) {
    if (!present.has(c.node)) continue;
    if (c.until <= now) actions.push({ kind: 'restore', node: c.node });
    else kept.push(c);
  }
  let rng = state.rng;
  const bound = maxConcurrentCuts(nodes.length, config);
  const cutNow = new Set(kept.map((c) => c.node));
  // A node restored in this tick is not cut again in the same tick: it must be seen Ready first.
  for (const a of actions) cutNow.add(a.node);
  for (let i = 0; i < config.cutsPerTick && kept.length < bound; i++) {
    const candidates = nodes.filter((n) => !cutNow.has(n));
    if (candidates.length === 0) break;
    let r: number;
    [r, rng] = nextRandom(rng);
    const node = candidates[Math.floor(r * candidates.length)] as string;
    [r, rng] = nextRandom(rng);
    const until = now + config.minCutMs + Math.floor(r * (config.maxCutMs - config.minCutMs));
    kept.push({ node, until });
    cutNow.add(node);
    actions.push({ kind: 'cut', node, until });
  }
  return { state: { cuts: kept, rng }, actions };
}
