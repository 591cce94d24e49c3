/**
 * The renderer's state: what main told us (vault, sources, live clusters) and what the user
 * picked. Cluster data only changes through the mirror rules (mirror.ts); a gap triggers one
 * `clusters:snapshot` request at a time. The objects themselves live in each mirror's FleetData
 * (outside zustand, with per-topic subscriptions); zustand holds only each cluster's `meta`,
 * which changes when its connection, flavor or resource states do — and its seq, so selectors
 * that read `meta.seq` can ask for "anything changed".
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { ClusterSourceInfo, VaultStatus } from '../../src-main/ipc/types.ts';
import { IpcCallError, type Transport, type TransportState } from '../transport/transport.ts';
import { type ClusterMeta, ClusterMirror } from './mirror.ts';

export type ViewName =
  | 'clusters'
  | 'pools'
  | 'nodes'
  | 'apps'
  | 'topology'
  | 'events'
  | 'alerts'
  | 'provision';

export interface UserError {
  message: string;
  fix?: string;
}

export interface AppState {
  transport: { state: TransportState; detail?: string };
  vault: VaultStatus | null;
  sources: ClusterSourceInfo[];
  sourcesError: UserError | null;
  importing: boolean;
  importError: UserError | null;
  activeClusterId: string | null;
  openError: UserError | null;
  /** Per opened cluster: its meta (null until the first snapshot). */
  clusters: Record<string, ClusterMeta | null>;
  /** The mirror (with its FleetData) of an opened cluster. */
  mirror(clusterId: string): ClusterMirror | undefined;
  view: ViewName;
  /** Ticks every second so ages on screen stay true without a re-render from main. */
  now: number;

  refresh(): Promise<void>;
  importKubeconfig(path: string, name?: string): Promise<boolean>;
  /** `rejoin`: re-watch after a reconnect without moving the user to another view. */
  openCluster(clusterId: string, opts?: { rejoin?: boolean }): Promise<void>;
  setView(view: ViewName): void;
  useSessionMemory(): Promise<void>;
}

export function toUserError(e: unknown): UserError {
  if (e instanceof IpcCallError) return e.fix ? { message: e.message, fix: e.fix } : { message: e.message };
  return { message: e instanceof Error ? e.message : String(e) };
}

export interface AppStoreOptions {
  clock?: () => number;
  /** How often `now` ticks; 0 disables the timer (tests). */
  tickMs?: number;
}

export function createAppStore(transport: Transport, options: AppStoreOptions = {}): StoreApi<AppState> {
  const clock = options.clock ?? Date.now;
  const tickMs = options.tickMs ?? 1_000;
  const snapshotInFlight = new Set<string>();
  const mirrors = new Map<string, ClusterMirror>();

  const store = createStore<AppState>()((set, get) => {
    const updateMirror = (clusterId: string, change: (m: ClusterMirror) => void) => {
      const m = mirrors.get(clusterId);
      // Events for a cluster this window never opened (another window's) are not ours to hold.
      if (!m) return;
      change(m);
      if (m.meta !== get().clusters[clusterId]) set({ clusters: { ...get().clusters, [clusterId]: m.meta } });
      if (m.needsSnapshot) void resync(clusterId);
    };

    const resync = async (clusterId: string) => {
      if (snapshotInFlight.has(clusterId)) return;
      snapshotInFlight.add(clusterId);
      try {
        const snap = await transport.invoke('clusters:snapshot', { clusterId });
        updateMirror(clusterId, (m) => m.applySnapshot(snap));
      } catch (e) {
        set({ openError: toUserError(e) });
      } finally {
        snapshotInFlight.delete(clusterId);
      }
    };

    transport.on('vault:status', (vault) => set({ vault }));
    transport.on('cluster:snapshot', (snap) => updateMirror(snap.clusterId, (m) => m.applySnapshot(snap)));
    transport.on('cluster:diff', (diff) => updateMirror(diff.clusterId, (m) => m.applyDiff(diff)));

    return {
      transport: { state: 'connecting' },
      vault: null,
      sources: [],
      sourcesError: null,
      importing: false,
      importError: null,
      activeClusterId: null,
      openError: null,
      clusters: {},
      mirror: (clusterId) => mirrors.get(clusterId),
      view: 'clusters',
      now: clock(),

      async refresh() {
        try {
          const [vault, sources] = await Promise.all([
            transport.invoke('vault:status', undefined),
            transport.invoke('clusters:listSources', undefined),
          ]);
          set({ vault, sources, sourcesError: null });
        } catch (e) {
          set({ sourcesError: toUserError(e) });
        }
      },

      async importKubeconfig(path, name) {
        set({ importing: true, importError: null });
        try {
          const input = name ? { path, name } : { path };
          const added = await transport.invoke('clusters:import', input);
          set({ sources: [...get().sources.filter((s) => s.id !== added.id), added] });
          return true;
        } catch (e) {
          set({ importError: toUserError(e) });
          return false;
        } finally {
          set({ importing: false });
        }
      },

      async openCluster(clusterId, opts = {}) {
        const previous = get().activeClusterId;
        // A fresh mirror: main may have restarted this cluster's live state since we last saw it.
        // The previous cluster's data goes: views hold only what they show.
        if (previous && previous !== clusterId) mirrors.delete(previous);
        mirrors.set(clusterId, new ClusterMirror());
        const clusters = { ...get().clusters, [clusterId]: null };
        if (previous && previous !== clusterId) delete clusters[previous];
        set({
          activeClusterId: clusterId,
          openError: null,
          clusters,
          view: !opts.rejoin && get().view === 'clusters' ? 'pools' : get().view,
        });
        // Main stops the previous cluster's watches after a short grace (a quick switch back is free).
        if (previous && previous !== clusterId)
          void transport.invoke('clusters:unwatch', { clusterId: previous }).catch(() => {});
        try {
          const snap = await transport.invoke('clusters:watch', { clusterId });
          updateMirror(clusterId, (m) => m.applySnapshot(snap));
        } catch (e) {
          set({ openError: toUserError(e) });
        }
      },

      setView(view) {
        set({ view });
      },

      async useSessionMemory() {
        try {
          set({ vault: await transport.invoke('vault:useSessionMemory', undefined) });
        } catch (e) {
          set({ sourcesError: toUserError(e) });
        }
      },
    };
  });

  let wasOpen = false;
  transport.onState((state, detail) => {
    store.setState({ transport: detail ? { state, detail } : { state } });
    if (state === 'open') {
      void store.getState().refresh();
      // After a reconnect, events sent while we were away are lost: re-join the open cluster.
      const active = store.getState().activeClusterId;
      if (wasOpen && active) void store.getState().openCluster(active, { rejoin: true });
      wasOpen = true;
    }
  });
  if (tickMs > 0) setInterval(() => store.setState({ now: clock() }), tickMs);
  return store;
}
