import type { ReactNode } from 'react';
import type { StoreApi } from 'zustand/vanilla';
import type { ProvisionState } from './provision-store.ts';
import { StoreProviderOf, storeContext, useSelectOf } from './store-context.tsx';

const provision = storeContext<ProvisionState>('provision');

export function ProvisionProvider(props: { store: StoreApi<ProvisionState>; children: ReactNode }) {
  return <StoreProviderOf of={provision} {...props} />;
}

export function useProvision<T>(selector: (s: ProvisionState) => T): T {
  return useSelectOf(provision, selector);
}
