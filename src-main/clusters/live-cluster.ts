/**
 * Live state of one cluster: one watcher per resource feeding an in-memory store, a snapshot on
 * request, and batched diffs — changes are only marked dirty as they arrive and one diff per
 * window is built from the store, so N events on an object cost one upsert (and an object added
 * and deleted within a window costs nothing).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { EventSink } from '../ipc/contract.ts';
import { AppError } from '../ipc/errors.ts';
import {
  type ClusterDiff,
  type ClusterFlavor,
  type ClusterSnapshot,
  type ConnectionInfo,
  RESOURCE_KINDS,
  type ResourceDiff,
  type ResourceKind,
  type ResourceState,
  type WireObject,
} from '../ipc/types.ts';
import { compact, objectKey } from './compact.ts';
import { detectFlavor } from './detect.ts';
import { type KubeObj, ResourceWatcher, type WatcherOptions, type WatcherSink } from './resource-watcher.ts';
import { RESOURCES } from './resources.ts';

export interface LiveClusterOptions {
  /** Batch window for diffs. */
  batchMs?: number;
  /** After this long without any answer while reconnecting, the state becomes `unreachable`. */
  unreachableAfterMs?: number;
  watcher?: WatcherOptions;
  /** Scrubs secrets from error text before it is sent (the vault's redactor). */
  redact?: (text: string) => string;
  now?: () => number;
}

type Store = Record<ResourceKind, Map<string, WireObject>>;

function perKind<T>(make: () => T): Record<ResourceKind, T> {
  return Object.fromEntries(RESOURCE_KINDS.map((k) => [k, make()])) as Record<ResourceKind, T>;
}

export class LiveCluster {
  readonly id: string;
  private readonly emit: EventSink;
  private readonly opts: Required<Omit<LiveClusterOptions, 'watcher'>> & { watcher: WatcherOptions };
  private readonly watchers: ResourceWatcher[];
  private readonly store: Store = perKind(() => new Map());
  private readonly states: Record<ResourceKind, ResourceState> = perKind(
    () => ({ status: 'syncing' }) as ResourceState,
  );
  /** Keys the renderer may hold (sent in a snapshot or diff and not removed since): removes are only sent for these. */
  private readonly known: Record<ResourceKind, Set<string>> = perKind(() => new Set());
  private readonly dirty: Record<ResourceKind, Set<string>> = perKind(() => new Set());
  private readonly dirtyState = new Set<ResourceKind>();
  private connectionDirty = false;
  private connection: ConnectionInfo;
  private flavor: ClusterFlavor;
  private seq = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private unreachableTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Where watchers deliver; public so tests can feed events without an API server. */
  readonly ingest: WatcherSink;

  constructor(id: string, kc: KubeConfig, emit: EventSink, options: LiveClusterOptions = {}) {
    this.id = id;
    this.emit = emit;
    this.opts = {
      batchMs: options.batchMs ?? 250,
      unreachableAfterMs: options.unreachableAfterMs ?? 15_000,
      watcher: options.watcher ?? {},
      redact: options.redact ?? ((t) => t),
      now: options.now ?? Date.now,
    };
    this.connection = { state: 'connecting', since: this.iso() };
    this.flavor = this.computeFlavor();
    this.ingest = {
      replace: (kind, items) => this.onReplace(kind, items),
      upsert: (kind, obj) => this.onUpsert(kind, obj),
      remove: (kind, obj) => this.onRemove(kind, obj),
      state: (kind, s) => this.onState(kind, s),
      contact: () => this.onContact(),
      trouble: (kind, e) => this.onTrouble(kind, e),
    };
    this.watchers = RESOURCES.map((def) => new ResourceWatcher(kc, def, this.ingest, this.opts.watcher));
  }

  start(): void {
    for (const w of this.watchers) w.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.flushTimer);
    clearTimeout(this.unreachableTimer);
    await Promise.all(this.watchers.map((w) => w.stop()));
  }

  connectionInfo(): ConnectionInfo {
    return { ...this.connection };
  }

  /** The current state; diffs emitted afterwards have seq > snapshot.seq. */
  snapshot(): ClusterSnapshot {
    const resources = {} as ClusterSnapshot['resources'];
    for (const kind of RESOURCE_KINDS) {
      resources[kind] = { state: { ...this.states[kind] }, items: [...this.store[kind].values()] };
      for (const key of this.store[kind].keys()) this.known[kind].add(key);
    }
    return {
      clusterId: this.id,
      seq: this.seq,
      takenAt: this.iso(),
      connection: this.connectionInfo(),
      flavor: this.flavor,
      resources,
    };
  }

  // ── watcher callbacks ────────────────────────────────────────────────────────────────────
  private onReplace(kind: ResourceKind, items: KubeObj[]): void {
    const fresh = new Map<string, WireObject>();
    for (const item of items) fresh.set(objectKey(item), compact(item));
    const old = this.store[kind];
    for (const [key, obj] of fresh) {
      if (old.get(key)?.metadata.resourceVersion !== obj.metadata.resourceVersion) this.dirty[kind].add(key);
    }
    for (const key of old.keys()) if (!fresh.has(key)) this.dirty[kind].add(key);
    this.store[kind] = fresh;
    this.schedule();
  }

  private onUpsert(kind: ResourceKind, obj: KubeObj): void {
    const key = objectKey(obj);
    this.store[kind].set(key, compact(obj));
    this.dirty[kind].add(key);
    this.schedule();
  }

  private onRemove(kind: ResourceKind, obj: KubeObj): void {
    const key = objectKey(obj);
    this.store[kind].delete(key);
    this.dirty[kind].add(key);
    this.schedule();
  }

  private onState(kind: ResourceKind, s: ResourceState): void {
    const cur = this.states[kind];
    if (cur.status === s.status && cur.message === s.message) return;
    this.states[kind] = s;
    this.dirtyState.add(kind);
    this.schedule();
  }

  private onContact(): void {
    const at = this.iso();
    this.connection.lastContactAt = at;
    clearTimeout(this.unreachableTimer);
    this.unreachableTimer = undefined;
    if (this.connection.state !== 'connected') {
      this.connection = { state: 'connected', since: at, lastContactAt: at };
      this.connectionDirty = true;
      this.schedule();
    }
  }

  private onTrouble(_kind: ResourceKind, error: Error): void {
    if (this.stopped) return;
    const lastError = {
      code: 'clusters/unreachable',
      message: this.opts.redact(error.message),
      fix: 'Check the network path to the API server (VPN, tunnel, firewall) and that it is running; EdgeFleet keeps retrying.',
    };
    const s = this.connection.state;
    if (s === 'connected' || s === 'connecting') {
      this.connection = {
        ...this.connection,
        state: s === 'connecting' ? 'connecting' : 'reconnecting',
        since: this.iso(),
        lastError,
      };
      this.connectionDirty = true;
      this.schedule();
    } else {
      this.connection.lastError = lastError;
    }
    if (!this.unreachableTimer && this.connection.state !== 'unreachable') {
      this.unreachableTimer = setTimeout(() => {
        this.unreachableTimer = undefined;
        if (this.stopped) return;
        this.connection = { ...this.connection, state: 'unreachable', since: this.iso() };
        this.connectionDirty = true;
        this.schedule();
      }, this.opts.unreachableAfterMs);
    }
  }

  // ── batching ─────────────────────────────────────────────────────────────────────────────
  private schedule(): void {
    if (this.stopped || this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, this.opts.batchMs);
  }

  /** Builds and emits one diff from everything marked dirty; exposed for tests. */
  flush(): ClusterDiff | null {
    const resources: ClusterDiff['resources'] = {};
    let flavorInputsChanged = false;
    for (const kind of RESOURCE_KINDS) {
      const d: ResourceDiff = { upserts: [], removes: [] };
      for (const key of this.dirty[kind]) {
        const obj = this.store[kind].get(key);
        if (obj) {
          d.upserts.push(obj);
          this.known[kind].add(key);
        } else if (this.known[kind].delete(key)) {
          d.removes.push(key);
        }
      }
      this.dirty[kind].clear();
      if (this.dirtyState.has(kind)) d.state = { ...this.states[kind] };
      if (d.upserts.length || d.removes.length || d.state) {
        resources[kind] = d;
        if (kind === 'leases' || kind === 'nodepools' || kind === 'yurtappsets') flavorInputsChanged = true;
      }
    }
    this.dirtyState.clear();
    const diff: ClusterDiff = { clusterId: this.id, seq: this.seq + 1, at: this.iso(), resources };
    if (flavorInputsChanged) {
      const flavor = this.computeFlavor();
      if (JSON.stringify(flavor) !== JSON.stringify(this.flavor)) {
        this.flavor = flavor;
        diff.flavor = flavor;
      }
    }
    if (this.connectionDirty) {
      diff.connection = this.connectionInfo();
      this.connectionDirty = false;
    }
    if (Object.keys(resources).length === 0 && !diff.connection && !diff.flavor) return null;
    this.seq = diff.seq;
    this.emit('cluster:diff', diff);
    return diff;
  }

  private computeFlavor(): ClusterFlavor {
    return detectFlavor({
      leases: this.store.leases.values(),
      leasesState: this.states.leases,
      nodePoolsState: this.states.nodepools,
      yurtAppSetsState: this.states.yurtappsets,
    });
  }

  private iso(): string {
    return new Date(this.opts.now()).toISOString();
  }
}

export function notWatching(id: string): AppError {
  return new AppError(
    'clusters/not-watching',
    `Cluster ${id} is not being watched.`,
    'Call clusters:watch first.',
  );
}
