/**
 * The demo fleet as the renderer sees it: main's DemoStatus (from `demo:status` and every
 * `demo:progress` event) plus start/stop. Its own small store, apart from the app store, so the
 * demo touches no shared renderer state. When a demo comes up (or is found up on load), it calls
 * `onRunning` once, and the app opens the demo cluster.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { DemoStatus } from '../../src-main/ipc/demo-types.ts';
import { IpcCallError, type Transport } from '../transport/transport.ts';

export interface DemoState {
  status: DemoStatus | null;
  /** A failed request (e.g. the transport dropped); a failed start arrives in `status.error`. */
  requestError: { message: string; fix?: string } | null;
  start(nodes?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface DemoStoreOptions {
  onRunning?: (clusterId: string) => void;
}

function toUserError(e: unknown): { message: string; fix?: string } {
  if (e instanceof IpcCallError && e.fix) return { message: e.message, fix: e.fix };
  return { message: e instanceof Error ? e.message : String(e) };
}

/** The running demo's identity: a restarted demo is a new one even with the same cluster id. */
function runKey(s: DemoStatus | null): string | null {
  return s?.state === 'running' && s.clusterId ? `${s.clusterId}@${s.startedAt ?? ''}` : null;
}

export function createDemoStore(transport: Transport, opts: DemoStoreOptions = {}): StoreApi<DemoState> {
  let opened: string | null = null;
  const store = createStore<DemoState>()((set) => ({
    status: null,
    requestError: null,
    async start(nodes) {
      set({ requestError: null });
      try {
        apply(await transport.invoke('demo:start', nodes === undefined ? {} : { nodes }));
      } catch (e) {
        set({ requestError: toUserError(e) });
      }
    },
    async stop() {
      set({ requestError: null });
      try {
        apply(await transport.invoke('demo:stop', undefined));
      } catch (e) {
        set({ requestError: toUserError(e) });
      }
    },
  }));
  const apply = (status: DemoStatus) => {
    store.setState({ status });
    const key = runKey(status);
    if (key && key !== opened && status.clusterId) {
      opened = key;
      opts.onRunning?.(status.clusterId);
    }
  };
  transport.on('demo:progress', apply);
  transport.onState((state) => {
    if (state !== 'open') return;
    transport
      .invoke('demo:status', undefined)
      .then(apply, (e: unknown) => store.setState({ requestError: toUserError(e) }));
  });
  return store;
}
