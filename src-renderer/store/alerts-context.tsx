import type { ReactNode } from 'react';
import type { StoreApi } from 'zustand/vanilla';
import type { AlertsState } from './alerts-store.ts';
import { StoreProviderOf, storeContext, useSelectOf } from './store-context.tsx';

const alerts = storeContext<AlertsState>('alerts');

export function AlertsProvider(props: { store: StoreApi<AlertsState>; children: ReactNode }) {
  return <StoreProviderOf of={alerts} {...props} />;
}

export function useAlerts<T>(selector: (s: AlertsState) => T): T {
  return useSelectOf(alerts, selector);
}
