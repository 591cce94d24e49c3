/**
 * The pools a YurtAppSet runs in: one definition for the controller (which creates a workload per
 * pool) and the app's Apps view (which shows them), so the two cannot disagree. Pure.
 */
import { matchesSelector } from './label-selector.ts';
import type { NodePool } from './nodepool.ts';
import type { LabelSelector, YurtAppSet } from './yurtappset.ts';

/** What a YurtAppSet says about pools (its spec, or the app's wire shape of it). */
export interface PoolTarget {
  pools?: string[] | undefined;
  nodepoolSelector?: LabelSelector | undefined;
}

/** What is known of a pool: the controller's NodePool objects and the app's wire shapes both reduce to this. */
export interface PoolFacts {
  name: string;
  labels?: Record<string, string> | undefined;
  deleting?: boolean | undefined;
}

// Names are DNS labels: code-unit order is stable across locales (localeCompare is not).
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The names of the pools named in `pools` or matched by `nodepoolSelector`, sorted. Only pools
 * that exist and are not being deleted: a named pool without a NodePool gets no workload.
 */
export function targetPoolNames(target: PoolTarget, pools: readonly PoolFacts[]): string[] {
  const named = new Set(target.pools ?? []);
  return pools
    .filter((p) => !p.deleting && (named.has(p.name) || matchesSelector(p.labels, target.nodepoolSelector)))
    .map((p) => p.name)
    .sort(byName);
}

/** The controller's view: the NodePool objects of targetPoolNames, sorted by name. */
export function yurtAppSetPools(yas: Pick<YurtAppSet, 'spec'>, pools: readonly NodePool[]): NodePool[] {
  const names = new Set(
    targetPoolNames(
      yas.spec,
      pools.map((p) => ({
        name: p.metadata.name,
        labels: p.metadata.labels,
        deleting: !!p.metadata.deletionTimestamp,
      })),
    ),
  );
  return pools
    .filter((p) => names.has(p.metadata.name))
    .sort((a, b) => byName(a.metadata.name, b.metadata.name));
}
