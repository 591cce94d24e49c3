import { createContext, type ReactNode, useContext } from 'react';
import { useStore } from 'zustand';
import type { StoreApi } from 'zustand/vanilla';
import type { ClusterSnapshot } from '../../src-main/ipc/types.ts';
import type { AppState } from './app-store.ts';

const StoreContext = createContext<StoreApi<AppState> | null>(null);

export function StoreProvider(props: { store: StoreApi<AppState>; children: ReactNode }) {
  return <StoreContext.Provider value={props.store}>{props.children}</StoreContext.Provider>;
}

export function useApp<T>(selector: (s: AppState) => T): T {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useApp outside StoreProvider');
  return useStore(store, selector);
}

/** The snapshot of the cluster the user opened, as currently mirrored. */
export function useActiveSnapshot(): ClusterSnapshot | null {
  return useApp((s) => (s.activeClusterId ? (s.mirrors[s.activeClusterId]?.snapshot ?? null) : null));
}
