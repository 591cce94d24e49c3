/**
 * The opened cluster's alerts as main evaluates them (src-main/alerts): loaded with
 * `alerts:list` when a cluster opens, then kept by `alerts:changed` diffs; a diff of another
 * epoch (main restarted the cluster's live state) or with a gap in seq reloads the list. Also
 * the banner's dismissal (per set of firing alerts: a new one brings it back) and the
 * cluster's thresholds for the settings form.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { AlertRulesInfo } from '../../src-main/ipc/alerts-contract.ts';
import type { AlertRules, AlertsDiff, AlertsSnapshot, AlertWire } from '../../src-main/ipc/alerts-types.ts';
import type { Transport } from '../transport/transport.ts';
import { type AppState, toUserError, type UserError } from './app-store.ts';

export interface AlertsState {
  clusterId: string | null;
  /** Null until the first list arrived. */
  snapshot: AlertsSnapshot | null;
  loading: boolean;
  error: UserError | null;
  /** Firing ids the user dismissed the banner for. */
  dismissed: ReadonlySet<string>;
  rules: AlertRulesInfo | null;
  rulesError: UserError | null;
  saving: boolean;

  reload(): Promise<void>;
  dismissBanner(): void;
  loadRules(): Promise<void>;
  /** Null: back to the defaults. Resolves true when saved. */
  saveRules(rules: AlertRules | null): Promise<boolean>;
}

export function firingOf(s: AlertsSnapshot | null): AlertWire[] {
  return s ? s.alerts.filter((a) => a.state === 'firing') : [];
}

function applyDiff(s: AlertsSnapshot, d: AlertsDiff): AlertsSnapshot {
  const byId = new Map(s.alerts.map((a) => [a.id, a]));
  for (const id of d.removes) byId.delete(id);
  for (const a of d.upserts) byId.set(a.id, a);
  return {
    ...s,
    seq: d.seq,
    evaluatedAt: d.evaluatedAt,
    live: d.live,
    alerts: [...byId.values()],
    problems: d.problems ?? s.problems,
    problemCount: d.problemCount ?? s.problemCount,
    coverage: d.coverage ?? s.coverage,
    rules: d.rules ?? s.rules,
  };
}

export function createAlertsStore(transport: Transport, app: StoreApi<AppState>): StoreApi<AlertsState> {
  let loadSeq = 0;
  const store = createStore<AlertsState>()((set, get) => ({
    clusterId: null,
    snapshot: null,
    loading: false,
    error: null,
    dismissed: new Set(),
    rules: null,
    rulesError: null,
    saving: false,

    async reload() {
      const clusterId = get().clusterId;
      if (!clusterId) return;
      const mine = ++loadSeq;
      set({ loading: true });
      try {
        const snapshot = await transport.invoke('alerts:list', { clusterId });
        if (mine === loadSeq && get().clusterId === clusterId) set({ snapshot, error: null });
      } catch (e) {
        if (mine === loadSeq) set({ error: toUserError(e) });
      } finally {
        if (mine === loadSeq) set({ loading: false });
      }
    },

    dismissBanner() {
      set({ dismissed: new Set(firingOf(get().snapshot).map((a) => a.id)) });
    },

    async loadRules() {
      const clusterId = get().clusterId;
      if (!clusterId) return;
      try {
        set({ rules: await transport.invoke('alerts:getRules', { clusterId }), rulesError: null });
      } catch (e) {
        set({ rulesError: toUserError(e) });
      }
    },

    async saveRules(rules) {
      const clusterId = get().clusterId;
      if (!clusterId) return false;
      set({ saving: true, rulesError: null });
      try {
        set({ rules: await transport.invoke('alerts:setRules', { clusterId, rules }) });
        return true;
      } catch (e) {
        set({ rulesError: toUserError(e) });
        return false;
      } finally {
        set({ saving: false });
      }
    },
  }));

  transport.on('alerts:changed', (d) => {
    const s = store.getState();
    if (d.clusterId !== s.clusterId) return;
    const snap = s.snapshot;
    // Not loaded yet: the list answer covers it (or a later diff shows the gap).
    if (!snap) return;
    if (d.epoch !== snap.epoch || d.seq !== snap.seq + 1) {
      if (d.epoch === snap.epoch && d.seq <= snap.seq) return;
      void s.reload();
      return;
    }
    store.setState({ snapshot: applyDiff(snap, d) });
  });

  const follow = (clusterId: string | null) => {
    if (clusterId === store.getState().clusterId) return;
    loadSeq++;
    store.setState({
      clusterId,
      snapshot: null,
      error: null,
      dismissed: new Set(),
      rules: null,
      rulesError: null,
    });
    if (clusterId) void store.getState().reload();
  };
  app.subscribe((s) => follow(s.activeClusterId));
  // After a reconnect of the transport, pushes sent meanwhile are lost: reload.
  transport.onState((state) => {
    if (state === 'open' && store.getState().clusterId) void store.getState().reload();
  });
  follow(app.getState().activeClusterId);
  return store;
}
