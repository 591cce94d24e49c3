/**
 * Writes to the open cluster (src-main/fleet over IPC), with busy/error/result per action so
 * each form and button shows its own progress and outcome (errors as message + fix), an undo
 * where Kubernetes allows it (every node write answers each node's `previous` value), what the
 * user may do (`fleet:capabilities`, refreshed when the cluster or its connection changes), and
 * the drains main runs (`fleet:drain` events, per pod), and an install of EdgeFleet (its plan and
 * `fleet:install` progress per object).
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { RequestOf } from '../../src-main/ipc/contract.ts';
import type {
  AutonomyResult,
  BulkNodeResult,
  DrainEvent,
  DrainInfo,
  FleetCapabilities,
  InstallEvent,
  InstallOptions,
  InstallPlan,
  InstallResult,
  PoolTaint,
} from '../../src-main/ipc/fleet-types.ts';
import { bulkText, byPrevious, changedNodes } from '../model/fleet-results.ts';
import { IpcCallError, type Transport } from '../transport/transport.ts';
import { type AppState, toUserError, type UserError } from './app-store.ts';

export interface ActionStatus {
  busy: boolean;
  error: UserError | null;
  /** What the last run did, in words. */
  result?: string;
  /** Extra detail of the result (e.g. an autonomy effect per node). */
  detail?: string[];
  /** Puts back what the last run changed. */
  undo?: () => Promise<void>;
}

export interface PoolInput {
  name: string;
  type: 'Edge' | 'Cloud';
  labels: Record<string, string>;
  taints: PoolTaint[];
}

type Without<T> = T extends unknown ? Omit<T, 'clusterId'> : never;
export type AppCreateInput = Without<RequestOf<'fleet:yurtappsets:create'>>;

/** An install of EdgeFleet into the open cluster: what it would change, then what it did. */
export interface InstallState {
  clusterId: string;
  options: InstallOptions;
  plan?: InstallPlan;
  /** The latest event per object id. */
  progress: Record<string, InstallEvent>;
  result?: InstallResult;
}

export interface FleetActionsState {
  capabilities: FleetCapabilities | null;
  install: InstallState | null;
  capabilitiesError: string | null;
  status: Record<string, ActionStatus>;
  drains: Record<string, DrainInfo>;

  refreshCapabilities(): Promise<void>;
  createPool(p: PoolInput): Promise<boolean>;
  editPool(p: PoolInput): Promise<boolean>;
  deletePool(name: string): Promise<boolean>;
  assign(nodes: string[], pool: string | null): Promise<boolean>;
  setAutonomy(target: { nodes: string[] } | { pool: string }, duration: string | null): Promise<boolean>;
  /** `statusKey`: where the outcome shows (default: the node's own, for one node). */
  cordon(nodes: string[], on: boolean, statusKey?: string): Promise<boolean>;
  drain(node: string, opts?: { force?: boolean; timeoutSeconds?: number }): Promise<boolean>;
  cancelDrain(drainId: string): Promise<void>;
  createApp(input: AppCreateInput): Promise<boolean>;
  applyApp(manifest: string, force?: boolean): Promise<boolean>;
  setImage(namespace: string, name: string, image: string): Promise<boolean>;
  setPaused(namespace: string, name: string, paused: boolean): Promise<boolean>;
  planInstall(options: InstallOptions): Promise<boolean>;
  /** Applies the plan's options; only after a plan was shown. */
  applyInstall(): Promise<boolean>;
  closeInstall(): void;
  dismiss(key: string): void;
}

/** Keys of `status`: one per form or button that can be busy on its own. */
export const actionKey = {
  poolCreate: 'pool:create',
  poolEdit: (p: string) => `pool:edit:${p}`,
  poolDelete: (p: string) => `pool:delete:${p}`,
  assign: 'nodes:assign',
  autonomy: (target: string) => `autonomy:${target}`,
  cordon: (node: string) => `cordon:${node}`,
  cordonMany: 'cordon:*',
  drain: (node: string) => `drain:${node}`,
  appCreate: 'app:create',
  appApply: 'app:apply',
  appImage: (key: string) => `app:image:${key}`,
  appPause: (key: string) => `app:pause:${key}`,
  installPlan: 'install:plan',
  installApply: 'install:apply',
};

const autonomyText = (d: string | null) =>
  d === null ? 'autonomy cleared' : d === '0' ? 'autonomy set to never evict' : `autonomy set to ${d}`;

export function createFleetActions(
  transport: Transport,
  app: StoreApi<AppState>,
): StoreApi<FleetActionsState> {
  const clusterId = (): string => {
    const id = app.getState().activeClusterId;
    if (!id) throw new Error('Open a cluster first (Clusters page).');
    return id;
  };

  const store = createStore<FleetActionsState>()((set, get) => {
    const patch = (key: string, s: ActionStatus) => set({ status: { ...get().status, [key]: s } });
    /**
     * Runs one write under `key`: busy while it runs, then its result (and undo) or its error.
     * `describe` throws when the write answered per-node failures only, so they show as errors.
     */
    const run = async <T>(
      key: string,
      write: () => Promise<T>,
      describe: (r: T) => Omit<ActionStatus, 'busy' | 'error'>,
    ): Promise<boolean> => {
      patch(key, { busy: true, error: null });
      try {
        const r = await write();
        patch(key, { busy: false, error: null, ...describe(r) });
        return true;
      } catch (e) {
        patch(key, { busy: false, error: toUserError(e) });
        return false;
      }
    };
    const failuresOnly = (r: BulkNodeResult) => {
      if (r.changed === 0 && r.failed > 0) {
        const first = r.results.find((x) => !x.ok)?.error;
        throw new IpcCallError(first ?? { code: 'fleet/failed', message: bulkText('changed', r) });
      }
    };

    const assignWrite = (nodes: string[], pool: string | null) =>
      transport.invoke('fleet:nodes:assignPool', { clusterId: clusterId(), nodes, pool });
    const autonomyWrite = (target: { nodes: string[] } | { pool: string }, duration: string | null) =>
      transport.invoke('fleet:nodes:setAutonomy', { clusterId: clusterId(), ...target, duration });
    const cordonWrite = (nodes: string[], on: boolean) =>
      transport.invoke(on ? 'fleet:nodes:cordon' : 'fleet:nodes:uncordon', { clusterId: clusterId(), nodes });

    /** Undo of a bulk write: one write per previous value, under the same key. */
    const undoBy =
      (
        key: string,
        results: BulkNodeResult['results'],
        put: (nodes: string[], prev: string | null) => Promise<unknown>,
      ) =>
      async () => {
        await run(
          key,
          async () => {
            for (const [prev, nodes] of byPrevious(results)) await put(nodes, prev);
          },
          () => ({ result: 'Undone: put back as before.' }),
        );
      };

    transport.on('fleet:drain', (e: DrainEvent) => {
      const current = get().drains[e.drainId];
      if (e.info) set({ drains: { ...get().drains, [e.drainId]: e.info } });
      else if (current && e.pod) {
        const pod = e.pod;
        const pods = current.pods.map((p) =>
          p.namespace === pod.namespace && p.name === pod.name ? pod : p,
        );
        if (!pods.includes(pod)) pods.push(pod);
        set({ drains: { ...get().drains, [e.drainId]: { ...current, pods } } });
      }
    });

    transport.on('fleet:install', (e: InstallEvent) => {
      const cur = get().install;
      if (cur?.clusterId === e.clusterId)
        set({ install: { ...cur, progress: { ...cur.progress, [e.id]: e } } });
    });

    return {
      capabilities: null,
      install: null,
      capabilitiesError: null,
      status: {},
      drains: {},

      async refreshCapabilities() {
        const id = app.getState().activeClusterId;
        if (!id) {
          set({ capabilities: null, capabilitiesError: null });
          return;
        }
        try {
          const caps = await transport.invoke('fleet:capabilities', { clusterId: id });
          if (app.getState().activeClusterId === id) set({ capabilities: caps, capabilitiesError: null });
        } catch (e) {
          if (app.getState().activeClusterId === id) set({ capabilitiesError: toUserError(e).message });
        }
      },

      createPool(p) {
        return run(
          actionKey.poolCreate,
          () => transport.invoke('fleet:nodepools:create', { clusterId: clusterId(), ...p }),
          () => ({ result: `Pool ${p.name} created.` }),
        );
      },

      editPool(p) {
        return run(
          actionKey.poolEdit(p.name),
          () => transport.invoke('fleet:nodepools:edit', { clusterId: clusterId(), ...p }),
          () => ({ result: `Pool ${p.name} saved.` }),
        );
      },

      deletePool(name) {
        return run(
          actionKey.poolDelete(name),
          () => transport.invoke('fleet:nodepools:delete', { clusterId: clusterId(), name }),
          () => ({ result: `Pool ${name} deleted.` }),
        );
      },

      assign(nodes, pool) {
        const key = actionKey.assign;
        return run(
          key,
          async () => {
            const r = await assignWrite(nodes, pool);
            failuresOnly(r);
            return r;
          },
          (r) => ({
            result: bulkText(pool ? `moved to ${pool}` : 'taken out of their pool', r),
            ...(r.changed ? { undo: undoBy(key, r.results, assignWrite) } : {}),
          }),
        );
      },

      setAutonomy(target, duration) {
        const key = actionKey.autonomy('pool' in target ? `pool:${target.pool}` : 'nodes');
        return run(
          key,
          async () => {
            const r: AutonomyResult = await autonomyWrite(target, duration);
            failuresOnly(r);
            return r;
          },
          (r) => ({
            result: `${bulkText(autonomyText(r.duration), r)}. ${r.effect.summary}`,
            detail: r.results.map((n) => {
              const c = n.autonomyCondition;
              const works = c
                ? c.status === 'True'
                  ? 'hub reports Autonomy=True: it will work'
                  : `hub reports Autonomy=${c.status}${c.reason ? ` (${c.reason})` : ''}: it will not work yet`
                : 'no Autonomy condition: no hub reports on this node, it will not work';
              return `${n.node}: ${works}`;
            }),
            ...(r.changed
              ? { undo: undoBy(key, r.results, (nodes, prev) => autonomyWrite({ nodes }, prev)) }
              : {}),
          }),
        );
      },

      cordon(nodes, on, statusKey) {
        const key =
          statusKey ?? (nodes.length === 1 ? actionKey.cordon(nodes[0] as string) : actionKey.cordonMany);
        return run(
          key,
          async () => {
            const r = await cordonWrite(nodes, on);
            failuresOnly(r);
            return r;
          },
          (r) => {
            const changed = changedNodes(r);
            return {
              result: bulkText(on ? 'cordoned' : 'uncordoned', r),
              ...(changed.length
                ? {
                    undo: async () => {
                      await run(
                        key,
                        () => cordonWrite(changed, !on),
                        () => ({ result: 'Undone.' }),
                      );
                    },
                  }
                : {}),
            };
          },
        );
      },

      drain(node, opts = {}) {
        return run(
          actionKey.drain(node),
          async () => {
            const info = await transport.invoke('fleet:drain:start', {
              clusterId: clusterId(),
              node,
              ...opts,
            });
            // Events may have arrived before the answer: keep the fuller one.
            const seen = get().drains[info.drainId];
            set({ drains: { ...get().drains, [info.drainId]: seen ?? info } });
            return info;
          },
          () => ({ result: `${node} cordoned; drain started (progress below).` }),
        );
      },

      async cancelDrain(drainId) {
        const info = get().drains[drainId];
        if (!info) return;
        await run(
          actionKey.drain(info.node),
          () => transport.invoke('fleet:drain:cancel', { drainId }),
          () => ({ result: 'Drain cancelled; the node stays cordoned.' }),
        );
      },

      createApp(input) {
        return run(
          actionKey.appCreate,
          () => transport.invoke('fleet:yurtappsets:create', { clusterId: clusterId(), ...input }),
          (r) => ({ result: `YurtAppSet ${r.object.metadata.namespace}/${r.object.metadata.name} created.` }),
        );
      },

      applyApp(manifest, force) {
        return run(
          actionKey.appApply,
          () =>
            transport.invoke('fleet:yurtappsets:apply', {
              clusterId: clusterId(),
              manifest,
              ...(force ? { force } : {}),
            }),
          (r) => ({ result: `YurtAppSet ${r.object.metadata.namespace}/${r.object.metadata.name} applied.` }),
        );
      },

      setImage(namespace, name, image) {
        return run(
          actionKey.appImage(`${namespace}/${name}`),
          () =>
            transport.invoke('fleet:yurtappsets:setImage', {
              clusterId: clusterId(),
              namespace,
              name,
              image,
            }),
          () => ({ result: `Image set to ${image}; the controller rolls it out pool by pool.` }),
        );
      },

      setPaused(namespace, name, paused) {
        return run(
          actionKey.appPause(`${namespace}/${name}`),
          () =>
            transport.invoke('fleet:yurtappsets:setPaused', {
              clusterId: clusterId(),
              namespace,
              name,
              paused,
            }),
          () => ({
            result: paused
              ? `Rollout of ${name} paused: no pool changes until you resume it.`
              : `Rollout of ${name} resumed.`,
          }),
        );
      },

      planInstall(options) {
        const id = clusterId();
        set({ install: { clusterId: id, options, progress: {} } });
        return run(
          actionKey.installPlan,
          async () => {
            const plan = await transport.invoke('fleet:install:plan', { clusterId: id, ...options });
            const cur = get().install;
            if (cur?.clusterId === id) set({ install: { ...cur, plan } });
            return plan;
          },
          (plan) => ({
            result: plan.refused
              ? 'Installing is refused here.'
              : `${plan.objects.filter((o) => o.change !== 'unchanged').length} of ${plan.objects.length} objects would change.`,
          }),
        );
      },

      async applyInstall() {
        const cur = get().install;
        if (!cur?.plan) return false;
        set({ install: { ...cur, progress: {} } });
        const ok = await run(
          actionKey.installApply,
          async () => {
            const result = await transport.invoke('fleet:install:apply', {
              clusterId: cur.clusterId,
              ...cur.options,
            });
            const now = get().install;
            if (now?.clusterId === cur.clusterId) set({ install: { ...now, result } });
            if (!result.ok && result.error) throw new IpcCallError(result.error);
            return result;
          },
          () => ({ result: 'EdgeFleet is installed: the controller starts on a cloud-side node.' }),
        );
        void get().refreshCapabilities();
        return ok;
      },

      closeInstall() {
        set({ install: null });
      },

      dismiss(key) {
        const { [key]: _gone, ...rest } = get().status;
        set({ status: rest });
      },
    };
  });

  // Capabilities follow the open cluster and its connection (RBAC may differ after a reconnect).
  let last = '';
  const follow = (s: AppState) => {
    const id = s.activeClusterId;
    const state = id ? s.clusters[id]?.connection.state : undefined;
    const now = `${id}/${state}`;
    if (now === last) return;
    const clusterChanged = last.split('/')[0] !== String(id);
    last = now;
    if (clusterChanged)
      store.setState({ capabilities: null, capabilitiesError: null, status: {}, install: null });
    if (state === 'connected' || clusterChanged) void store.getState().refreshCapabilities();
  };
  app.subscribe(follow);
  follow(app.getState());
  transport.onState((state) => {
    if (state !== 'open') return;
    void transport
      .invoke('fleet:drain:list', undefined)
      .then((list) => {
        const drains = { ...store.getState().drains };
        for (const d of list) drains[d.drainId] ??= d;
        store.setState({ drains });
      })
      .catch(() => {});
  });
  return store;
}
