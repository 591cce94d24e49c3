/**
 * The pools a YurtAppSet runs in: one definition for the controller (which creates a workload per
 * pool) and the app's Apps view (which shows them), so the two cannot disagree. Pure.
 */
import { matchesSelector } from './label-selector.ts';
import type { NodePool } from './nodepool.ts';
import type { YurtAppSet } from './yurtappset.ts';

/**
 * The NodePools named in spec.pools or matched by spec.nodepoolSelector, sorted by name. Only pools
 * that exist and are not being deleted: a named pool without a NodePool gets no workload.
 */
export function yurtAppSetPools(yas: Pick<YurtAppSet, 'spec'>, pools: readonly NodePool[]): NodePool[] {
  const named = new Set(yas.spec.pools ?? []);
  return (
    pools
      .filter((p) => !p.metadata.deletionTimestamp)
      .filter(
        (p) => named.has(p.metadata.name) || matchesSelector(p.metadata.labels, yas.spec.nodepoolSelector),
      )
      // Names are DNS labels: code-unit order is stable across locales (localeCompare is not).
      .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0))
  );
}
