import { createContext, type ReactNode, useContext } from 'react';
import { useStore } from 'zustand';
import type { StoreApi } from 'zustand/vanilla';
import type { DemoState } from './demo-store.ts';

const DemoContext = createContext<StoreApi<DemoState> | null>(null);

export function DemoProvider(props: { store: StoreApi<DemoState>; children: ReactNode }) {
  return <DemoContext.Provider value={props.store}>{props.children}</DemoContext.Provider>;
}

export function useDemo<T>(selector: (s: DemoState) => T): T {
  const store = useContext(DemoContext);
  if (!store) throw new Error('useDemo outside DemoProvider');
  return useStore(store, selector);
}
