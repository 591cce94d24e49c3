/**
 * What the fleet views show, derived from one cluster's FleetData: rows for nodes, pools and
 * apps. Readiness is computed from the nodes themselves (live), beside what the controller last
 * wrote into the pool's status, so a stale controller is visible rather than hidden.
 */
import { LABEL_IS_EDGE_WORKER, targetPoolNames } from '../../src-main/ipc/edge-api.ts';
import { autonomySetting } from '../../src-main/ipc/node-health.ts';
import type { NodePoolWire, NodeWire, YurtAppSetWire } from '../../src-main/ipc/types.ts';
import { type FleetData, poolOfPod } from '../store/fleet-data.ts';
import { desiredImage } from './rollout.ts';

export { autonomySetting as autonomyOf };

export const isEdgeWorker = (n: NodeWire): boolean => n.labels?.[LABEL_IS_EDGE_WORKER] === 'true';

/** The pools a YurtAppSet targets, by the controller's own rule (existing, not-deleting, named or selected). */
export function targetPools(yas: YurtAppSetWire, pools: NodePoolWire[]): string[] {
  return targetPoolNames(yas, pools);
}

export interface AppPoolRow {
  pool: string;
  pods: number;
  readyPods: number;
  /** Pods running the image this pool should run (see rollout.ts). */
  updatedPods: number;
  /** Why pods of this pool are not ready, e.g. ImagePullBackOff (the first one found). */
  problem?: string;
}

/** One YurtAppSet's pods per pool, from the podsByApp index (no scan of all pods). */
export function appPools(fleet: FleetData, yas: YurtAppSetWire): AppPoolRow[] {
  const key = `${yas.namespace ?? 'default'}/${yas.name}`;
  const pools = [...fleet.objects.nodepools.values()];
  const rows = new Map<string, AppPoolRow>();
  const empty = (pool: string): AppPoolRow => ({ pool, pods: 0, readyPods: 0, updatedPods: 0 });
  for (const p of targetPools(yas, pools)) rows.set(p, empty(p));
  for (const podKey of fleet.podsByApp.get(key) ?? []) {
    const pod = fleet.get('pods', podKey);
    const pool = pod && poolOfPod(pod);
    if (!pod || !pool) continue;
    const row = rows.get(pool) ?? empty(pool);
    row.pods++;
    if (pod.image !== undefined && pod.image === desiredImage(yas, pool)) row.updatedPods++;
    if (pod.ready) row.readyPods++;
    else if (!row.problem && pod.reason) row.problem = pod.reason;
    rows.set(pool, row);
  }
  return [...rows.values()].sort((a, b) => a.pool.localeCompare(b.pool));
}

/** "12 s", "3 min", "2 h": how old the data on screen is. */
export function age(fromIso: string | undefined, now: number): string {
  if (!fromIso) return 'unknown';
  const s = Math.max(0, Math.round((now - Date.parse(fromIso)) / 1000));
  if (s < 90) return `${s} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}
