/**
 * A YurtAppSet's rollout per pool, as the screen shows it: the image each pool should run
 * (template image, or a pool tweak's), how many of its pods already run it and are ready, and
 * where our controller stands — it rolls pool by pool and pauses by itself at a failing pool
 * (condition RolloutProgressing=False, reason RolloutPaused, "pool <p> is failing: <why>";
 * while rolling: "updating a, b; waiting c").
 */
import type { YurtAppSetWire } from '../../src-main/ipc/types.ts';
import type { AppPoolRow } from './fleet.ts';

export const ROLLOUT_CONDITION = 'RolloutProgressing';

export type PoolRolloutState = 'updated' | 'updating' | 'waiting' | 'paused-here' | 'held' | 'no-pods';

export interface PoolRollout extends AppPoolRow {
  image?: string;
  state: PoolRolloutState;
}

export interface Rollout {
  /** "Complete", "Rolling out", "Paused at pool south: …", or "" without a controller's word. */
  summary: string;
  paused?: { pool: string; reason: string };
  pools: PoolRollout[];
}

/** The image pool `pool` should run: a tweak naming the pool wins over the template. */
export function desiredImage(yas: YurtAppSetWire, pool: string): string | undefined {
  for (const t of yas.tweaks ?? []) {
    const img = t.images?.[0]?.targetImage;
    if (img && t.pools?.includes(pool)) return img;
  }
  return yas.image;
}

function poolList(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s && s !== '-');
}

export function rollout(yas: YurtAppSetWire, rows: AppPoolRow[]): Rollout {
  const c = yas.status?.conditions?.find((x) => x.type === ROLLOUT_CONDITION);
  const pausedMatch =
    c?.reason === 'RolloutPaused' ? /^pool (\S+) is failing: (.*)$/s.exec(c.message ?? '') : null;
  const paused = pausedMatch
    ? { pool: pausedMatch[1] as string, reason: pausedMatch[2] as string }
    : undefined;
  const rolling = c?.reason === 'RollingOut' ? /^updating (.*); waiting (.*)$/.exec(c.message ?? '') : null;
  const updating = new Set(poolList(rolling?.[1]));
  const waiting = new Set(poolList(rolling?.[2]));
  const pools = rows.map((r): PoolRollout => {
    const image = desiredImage(yas, r.pool);
    const base = { ...r, ...(image ? { image } : {}) };
    const done = r.pods > 0 && r.updatedPods === r.pods && r.readyPods === r.pods;
    if (paused?.pool === r.pool) return { ...base, state: 'paused-here' };
    if (done) return { ...base, state: 'updated' };
    if (updating.has(r.pool)) return { ...base, state: 'updating' };
    if (paused) return { ...base, state: 'held' };
    if (waiting.has(r.pool)) return { ...base, state: 'waiting' };
    return { ...base, state: r.pods === 0 ? 'no-pods' : 'updating' };
  });
  const summary = paused
    ? `Paused at pool ${paused.pool}: ${paused.reason}`
    : c?.reason === 'Complete'
      ? 'Complete'
      : c?.reason === 'RollingOut'
        ? 'Rolling out pool by pool'
        : '';
  return { summary, ...(paused ? { paused } : {}), pools };
}

export const ROLLOUT_STATE_TEXT: Record<PoolRolloutState, string> = {
  updated: 'Updated',
  updating: 'Updating',
  waiting: 'Waiting for its turn',
  'paused-here': 'Failing — rollout paused here',
  held: 'Held: rollout paused at another pool',
  'no-pods': 'No pods yet',
};
