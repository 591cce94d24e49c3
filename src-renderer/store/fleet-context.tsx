import type { ReactNode } from 'react';
import type { StoreApi } from 'zustand/vanilla';
import type { FleetAction } from '../../src-main/ipc/fleet-types.ts';
import { type Gate, gate } from '../model/fleet-gate.ts';
import { useActiveConnection } from './context.tsx';
import type { ActionStatus, FleetActionsState } from './fleet-actions.ts';
import type { FleetUiState } from './fleet-ui.ts';
import { StoreProviderOf, storeContext, useSelectOf, useStoreApiOf } from './store-context.tsx';

const actions = storeContext<FleetActionsState>('fleet actions');
const ui = storeContext<FleetUiState>('fleet ui');

export function FleetProvider(props: {
  actions: StoreApi<FleetActionsState>;
  ui: StoreApi<FleetUiState>;
  children: ReactNode;
}) {
  return (
    <StoreProviderOf of={actions} store={props.actions}>
      <StoreProviderOf of={ui} store={props.ui}>
        {props.children}
      </StoreProviderOf>
    </StoreProviderOf>
  );
}

export function useFleetActions<T>(selector: (s: FleetActionsState) => T): T {
  return useSelectOf(actions, selector);
}

export function useFleetUi<T>(selector: (s: FleetUiState) => T): T {
  return useSelectOf(ui, selector);
}

/** The ui store itself, for handlers that read the latest state without subscribing. */
export function useFleetUiStore(): StoreApi<FleetUiState> {
  return useStoreApiOf(ui);
}

const IDLE: ActionStatus = { busy: false, error: null };
export function useActionStatus(key: string): ActionStatus {
  return useFleetActions((s) => s.status[key] ?? IDLE);
}

/** A lookup: may an action be offered now, and why not (RBAC, connection). */
export function useGateOf(): (action: FleetAction) => Gate {
  const connection = useActiveConnection();
  const caps = useFleetActions((s) => s.capabilities);
  const err = useFleetActions((s) => s.capabilitiesError);
  return (action) => gate(action, caps, connection, err ?? undefined);
}

export function useGate(action: FleetAction): Gate {
  return useGateOf()(action);
}
