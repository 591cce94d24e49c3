/**
 * A YurtAppSet's rollout per pool, as the screen shows it: the image each pool should run
 * (template image, or a pool tweak's), how many of its pods already run it and are ready, and
 * where our controller stands (its RolloutProgressing condition, read with the controller's own
 * reader): rolling pool by pool, stopped by itself at a failing pool, or held by the pause
 * annotation.
 */
import { readRolloutCondition, YAS_CONDITION_ROLLOUT } from '../../src-main/ipc/edge-api.ts';
import type { YurtAppSetWire } from '../../src-main/ipc/types.ts';
import type { AppPoolRow } from './fleet.ts';

export type PoolRolloutState =
  | 'updated'
  | 'updating'
  | 'waiting'
  | 'paused-here'
  | 'held'
  | 'held-by-pause'
  | 'no-pods';

export interface PoolRollout extends AppPoolRow {
  image?: string;
  state: PoolRolloutState;
}

export interface Rollout {
  /** "Complete", "Rolling out", "Paused at pool south: …", "Paused", or "" without a controller's word. */
  summary: string;
  paused?: { pool: string; reason: string };
  /** Held by the pause annotation: `true` once the controller holds it, `'requested'` before. */
  held?: true | 'requested';
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

export function rollout(yas: YurtAppSetWire, rows: AppPoolRow[]): Rollout {
  const stand = readRolloutCondition(yas.status?.conditions?.find((x) => x.type === YAS_CONDITION_ROLLOUT));
  const paused = stand?.kind === 'failing' ? { pool: stand.pool, reason: stand.reason } : undefined;
  // The controller's word wins; a fresh annotation it has not acted on yet is only "requested".
  const held = stand?.kind === 'paused' ? true : yas.pauseRequested ? ('requested' as const) : undefined;
  const updating = new Set(stand?.kind === 'rolling' ? stand.updating : []);
  const waiting = new Set(stand?.kind === 'rolling' || stand?.kind === 'paused' ? stand.waiting : []);
  const pools = rows.map((r): PoolRollout => {
    const image = desiredImage(yas, r.pool);
    const base = { ...r, ...(image ? { image } : {}) };
    const done = r.pods > 0 && r.updatedPods === r.pods && r.readyPods === r.pods;
    if (paused?.pool === r.pool) return { ...base, state: 'paused-here' };
    if (stand?.kind === 'paused' && waiting.has(r.pool)) return { ...base, state: 'held-by-pause' };
    if (done) return { ...base, state: 'updated' };
    if (updating.has(r.pool)) return { ...base, state: 'updating' };
    if (paused) return { ...base, state: 'held' };
    if (waiting.has(r.pool)) return { ...base, state: 'waiting' };
    return { ...base, state: r.pods === 0 ? 'no-pods' : 'updating' };
  });
  const summary =
    held === true
      ? 'Paused: no pool changes until it is resumed'
      : held === 'requested'
        ? 'Pause requested; waiting for the controller'
        : paused
          ? `Paused at pool ${paused.pool}: ${paused.reason}`
          : stand?.kind === 'complete'
            ? 'Complete'
            : stand?.kind === 'rolling'
              ? 'Rolling out pool by pool'
              : '';
  return { summary, ...(paused ? { paused } : {}), ...(held ? { held } : {}), pools };
}

export const ROLLOUT_STATE_TEXT: Record<PoolRolloutState, string> = {
  updated: 'Updated',
  updating: 'Updating',
  waiting: 'Waiting for its turn',
  'paused-here': 'Failing — rollout paused here',
  held: 'Held: rollout paused at another pool',
  'held-by-pause': 'Held: the rollout is paused',
  'no-pods': 'No pods yet',
};
