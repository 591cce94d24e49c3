import { type ReactNode, useCallback, useSyncExternalStore } from 'react';
import type { StoreApi } from 'zustand/vanilla';
import type { ClusterFlavor, ConnectionInfo, ResourceKind, ResourceState } from '../../src-main/ipc/types.ts';
import type { AppState } from './app-store.ts';
import type { FleetData } from './fleet-data.ts';
import type { ClusterMeta } from './mirror.ts';
import { StoreProviderOf, storeContext, useSelectOf } from './store-context.tsx';

const app = storeContext<AppState>('app');

export function StoreProvider(props: { store: StoreApi<AppState>; children: ReactNode }) {
  return <StoreProviderOf of={app} {...props} />;
}

export function useApp<T>(selector: (s: AppState) => T): T {
  return useSelectOf(app, selector);
}

/** Connection, flavor and resource states of the cluster the user opened (null before its snapshot). */
export function useActiveMeta(): ClusterMeta | null {
  return useApp((s) => (s.activeClusterId ? (s.clusters[s.activeClusterId] ?? null) : null));
}

/** The opened cluster's objects and indexes; the same object for as long as the cluster is open. */
export function useFleet(): FleetData | undefined {
  return useApp((s) => (s.activeClusterId ? s.mirror(s.activeClusterId)?.data : undefined));
}

/**
 * Reads `read(fleet)` and re-renders only when one of `topics` is notified and the value read
 * changed by identity (so `read` must return stored objects or cached values, not fresh ones).
 */
export function useFleetValue<T>(
  fleet: FleetData | undefined,
  topics: string[],
  read: (f: FleetData) => T,
  empty: T,
): T {
  const key = topics.join('\u0000');
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` stands for `topics`.
  const subscribe = useCallback(
    (cb: () => void) => {
      if (!fleet) return () => {};
      const offs = topics.map((t) => fleet.subscribe(t, cb));
      return () => {
        for (const off of offs) off();
      };
    },
    [fleet, key],
  );
  const get = () => (fleet ? read(fleet) : empty);
  return useSyncExternalStore(subscribe, get, get);
}

/** Sum of the topics' versions: changes whenever any of them is notified (a useMemo key). */
export function useFleetVersion(fleet: FleetData | undefined, topics: string[]): number {
  return useFleetValue(fleet, topics, (f) => topics.reduce((n, t) => n + f.version(t), 0), 0);
}

/*
 * Narrow views of the opened cluster's meta. `meta` is a new object on every diff (its seq
 * moves); these return parts that change only when they do, so a view that reads them does not
 * re-render on every diff.
 */
const activeMeta = (s: AppState) => (s.activeClusterId ? s.clusters[s.activeClusterId] : undefined);

/** Whether the opened cluster's first snapshot has arrived. */
export function useActiveLoaded(): boolean {
  return useApp((s) => !!activeMeta(s));
}

export function useActiveState(kind: ResourceKind): ResourceState | undefined {
  return useApp((s) => activeMeta(s)?.states[kind]);
}

export function useActiveConnection(): ConnectionInfo | undefined {
  return useApp((s) => activeMeta(s)?.connection);
}

export function useActiveFlavor(): ClusterFlavor | undefined {
  return useApp((s) => activeMeta(s)?.flavor);
}
