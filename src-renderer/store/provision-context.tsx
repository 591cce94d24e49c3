import { createContext, type ReactNode, useContext } from 'react';
import { useStore } from 'zustand';
import type { StoreApi } from 'zustand/vanilla';
import type { ProvisionState } from './provision-store.ts';

const ProvisionContext = createContext<StoreApi<ProvisionState> | null>(null);

export function ProvisionProvider(props: { store: StoreApi<ProvisionState>; children: ReactNode }) {
  return <ProvisionContext.Provider value={props.store}>{props.children}</ProvisionContext.Provider>;
}

export function useProvision<T>(selector: (s: ProvisionState) => T): T {
  const store = useContext(ProvisionContext);
  if (!store) throw new Error('useProvision outside ProvisionProvider');
  return useStore(store, selector);
}
