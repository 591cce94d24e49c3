import type { ReactNode } from 'react';
import type { StoreApi } from 'zustand/vanilla';
import { StoreProviderOf, storeContext, useSelectOf } from '../store/store-context.tsx';
import type { DemoState } from './demo-store.ts';

const demo = storeContext<DemoState>('demo');

export function DemoProvider(props: { store: StoreApi<DemoState>; children: ReactNode }) {
  return <StoreProviderOf of={demo} {...props} />;
}

export function useDemo<T>(selector: (s: DemoState) => T): T {
  return useSelectOf(demo, selector);
}
