/**
 * Live state of one cluster: one watcher per resource feeding an in-memory store of reduced
 * objects (reduce.ts), a snapshot on request, and batched diffs — changes are only marked dirty
 * as they arrive and one diff per window is built from the store, so N events on an object cost
 * one upsert (and an object added and deleted within a window costs nothing). Node Leases never
 * leave main: each node's renewTime is folded into `heartbeats`, sent at most once per
 * `heartbeatEveryMs` per node.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { EventSink } from '../ipc/contract.ts';
import { AppError } from '../ipc/errors.ts';
import {
  type AnyWire,
  type ClusterDiff,
  type ClusterFlavor,
  type ClusterSnapshot,
  type ConnectionInfo,
  EVENT_RING_SIZE,
  type EventWire,
  type NodeWire,
  RESOURCE_KINDS,
  type ResourceDiff,
  type ResourceKind,
  type ResourceState,
  type YurtAppSetWire,
} from '../ipc/types.ts';
import { wireKey } from '../ipc/wire-key.ts';
import { DerivedEvents } from './derived-events.ts';
import { detectFlavor, type LeaseInfo, reduceLease } from './detect.ts';
import { EventRing, type RingChange } from './event-ring.ts';
import { REDUCERS } from './reduce.ts';
import { type KubeObj, ResourceWatcher, type WatcherOptions, type WatcherSink } from './resource-watcher.ts';
import { RESOURCES, type WatchId } from './resources.ts';

/**
 * Listed first and alone: what the first screen needs (the node table, the pools). Every other
 * watch (pods, Services, EndpointSlices, Leases) waits until these are synced or failed, or
 * `firstListMs` passed: run together, the 5,000-lease and pod lists shared the API server and
 * this thread's JSON parsing with the node list and delayed the first screen for seconds.
 */
const FIRST: ReadonlySet<WatchId> = new Set<WatchId>(['nodes', 'nodepools']);

export interface LiveClusterOptions {
  /** Batch window for diffs. */
  batchMs?: number;
  /** After this long without any answer while reconnecting, the state becomes `unreachable`. */
  unreachableAfterMs?: number;
  watcher?: WatcherOptions;
  /** Scrubs secrets from error text before it is sent (the vault's redactor). */
  redact?: (text: string) => string;
  now?: () => number;
  /** A node's heartbeat is sent again only once its Lease moved this far (ms). */
  heartbeatEveryMs?: number;
  /** The fleet feed keeps this many events (EVENT_RING_SIZE). */
  eventRingSize?: number;
  /** The other watches start at the latest this long after the first ones (see FIRST). */
  firstListMs?: number;
}

type Store = Record<ResourceKind, Map<string, AnyWire>>;
/** What the watchers deliver: a wire object, or a Lease reduced for heartbeats and the flavor. */
type Ingested = AnyWire | LeaseInfo;

const isResourceKind = (k: WatchId): k is ResourceKind => k !== 'nodeleases' && k !== 'leases';

function perKind<T>(make: () => T): Record<ResourceKind, T> {
  return Object.fromEntries(RESOURCE_KINDS.map((k) => [k, make()])) as Record<ResourceKind, T>;
}

export class LiveCluster {
  readonly id: string;
  private readonly emit: EventSink;
  private readonly opts: Required<Omit<LiveClusterOptions, 'watcher'>> & { watcher: WatcherOptions };
  private readonly watchers: ResourceWatcher<Ingested>[];
  private readonly store: Store = perKind(() => new Map());
  /** The feed: Warning events and derived transitions, deduplicated and bounded; mirrored into store.events. */
  readonly events: EventRing;
  private readonly derived: DerivedEvents;
  /** Controller Leases (not node Leases), for the flavor. */
  private leases = new Map<string, LeaseInfo>();
  private leasesState: ResourceState = { status: 'syncing' };
  /** Node name → last renewTime seen, and the one last sent. */
  private readonly heartbeats = new Map<string, string>();
  private readonly sentHeartbeats = new Map<string, number>();
  private readonly dirtyHeartbeats = new Set<string>();
  private readonly states: Record<ResourceKind, ResourceState> = perKind(
    () => ({ status: 'syncing' }) as ResourceState,
  );
  /** Keys the renderer may hold (sent in a snapshot or diff and not removed since): removes are only sent for these. */
  private readonly known: Record<ResourceKind, Set<string>> = perKind(() => new Set());
  private readonly dirty: Record<ResourceKind, Set<string>> = perKind(() => new Set());
  private readonly dirtyState = new Set<ResourceKind>();
  private connectionDirty = false;
  private flavorDirty = false;
  private connection: ConnectionInfo;
  private flavor: ClusterFlavor;
  private seq = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private unreachableTimer: NodeJS.Timeout | undefined;
  private restTimer: NodeJS.Timeout | undefined;
  private restStarted = false;
  private stopped = false;
  /** Where watchers deliver; public so tests can feed events without an API server. */
  readonly ingest: WatcherSink<Ingested>;
  /** Node Lease events seen (evidence, in tests, that renewals arrived though none were sent). */
  readonly counters = { leaseEvents: 0 };

  constructor(id: string, kc: KubeConfig, emit: EventSink, options: LiveClusterOptions = {}) {
    this.id = id;
    this.emit = emit;
    this.opts = {
      batchMs: options.batchMs ?? 250,
      unreachableAfterMs: options.unreachableAfterMs ?? 15_000,
      watcher: options.watcher ?? {},
      redact: options.redact ?? ((t) => t),
      now: options.now ?? Date.now,
      heartbeatEveryMs: options.heartbeatEveryMs ?? 10_000,
      eventRingSize: options.eventRingSize ?? EVENT_RING_SIZE,
      firstListMs: options.firstListMs ?? 5_000,
    };
    this.events = new EventRing(this.opts.eventRingSize);
    this.derived = new DerivedEvents(this.opts.now);
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
    this.watchers = RESOURCES.map(
      (def) =>
        new ResourceWatcher<Ingested>(
          kc,
          def,
          this.ingest,
          this.opts.watcher,
          isResourceKind(def.kind) ? (REDUCERS[def.kind] as (o: KubeObj) => Ingested) : reduceLease,
        ),
    );
  }

  start(): void {
    for (const w of this.watchers) if (FIRST.has(w.def.kind)) w.start();
    this.restTimer ??= setTimeout(() => this.startRest(), this.opts.firstListMs);
  }

  /** Which watches run (evidence, in tests, of the listing order). */
  startedKinds(): WatchId[] {
    return this.watchers.filter((w) => w.started).map((w) => w.def.kind);
  }

  private startRest(): void {
    clearTimeout(this.restTimer);
    if (this.stopped || this.restStarted) return;
    this.restStarted = true;
    for (const w of this.watchers) w.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.flushTimer);
    clearTimeout(this.unreachableTimer);
    clearTimeout(this.restTimer);
    await Promise.all(this.watchers.map((w) => w.stop()));
  }

  connectionInfo(): ConnectionInfo {
    return { ...this.connection };
  }

  /** The current state; diffs emitted afterwards have seq > snapshot.seq. */
  snapshot(): ClusterSnapshot {
    const resources = {} as ClusterSnapshot['resources'];
    for (const kind of RESOURCE_KINDS) {
      (resources as Record<ResourceKind, unknown>)[kind] = {
        state: { ...this.states[kind] },
        items: [...this.store[kind].values()],
      };
      for (const key of this.store[kind].keys()) this.known[kind].add(key);
    }
    const heartbeats: Record<string, string> = {};
    for (const [node, at] of this.heartbeats) {
      heartbeats[node] = at;
      this.sentHeartbeats.set(node, Date.parse(at));
    }
    this.dirtyHeartbeats.clear();
    return {
      clusterId: this.id,
      seq: this.seq,
      takenAt: this.iso(),
      connection: this.connectionInfo(),
      flavor: this.flavor,
      resources,
      heartbeats,
    };
  }

  // ── watcher callbacks ────────────────────────────────────────────────────────────────────
  private onReplace(kind: WatchId, items: Ingested[]): void {
    if (kind === 'nodeleases') {
      this.heartbeats.clear();
      for (const l of items as LeaseInfo[]) this.onLease(l);
      return;
    }
    if (kind === 'leases') {
      this.leases = new Map((items as LeaseInfo[]).map((l) => [wireKey(l), l]));
      this.flavorDirty = true;
      this.schedule();
      return;
    }
    if (kind === 'events') {
      this.applyRing(this.events.replace(items as EventWire[], (e) => e.type === 'Derived'));
      return;
    }
    const fresh = new Map<string, AnyWire>();
    for (const item of items as AnyWire[]) fresh.set(wireKey(item), item);
    const old = this.store[kind];
    if (kind === 'nodes' || kind === 'yurtappsets') this.deriveAll(kind, old, fresh);
    for (const [key, obj] of fresh) {
      if (old.get(key)?.rv !== obj.rv) this.dirty[kind].add(key);
    }
    for (const key of old.keys()) if (!fresh.has(key)) this.dirty[kind].add(key);
    this.store[kind] = fresh;
    // A whole list is one event already: nothing to coalesce it with, so no batch window (the
    // first screen waits for the node list's diff).
    this.schedule(0);
  }

  private onUpsert(kind: WatchId, obj: Ingested): void {
    if (kind === 'nodeleases') {
      this.onLease(obj as LeaseInfo);
      return;
    }
    if (kind === 'leases') {
      this.leases.set(wireKey(obj), obj as LeaseInfo);
      this.flavorDirty = true;
      this.schedule();
      return;
    }
    if (kind === 'events') {
      this.applyRing(this.events.upsert(obj as EventWire));
      return;
    }
    const key = wireKey(obj);
    if (kind === 'nodes')
      this.derive(
        this.derived.node(this.store.nodes.get(key) as NodeWire | undefined, obj as NodeWire),
        true,
      );
    else if (kind === 'yurtappsets')
      this.derive(
        this.derived.app(
          this.store.yurtappsets.get(key) as YurtAppSetWire | undefined,
          obj as YurtAppSetWire,
        ),
        false,
      );
    this.store[kind].set(key, obj as AnyWire);
    this.dirty[kind].add(key);
    this.schedule();
  }

  private onRemove(kind: WatchId, obj: Ingested): void {
    if (kind === 'nodeleases') {
      this.heartbeats.delete(obj.name);
      this.sentHeartbeats.delete(obj.name);
      return;
    }
    if (kind === 'leases') {
      this.leases.delete(wireKey(obj));
      this.flavorDirty = true;
      this.schedule();
      return;
    }
    if (kind === 'events') {
      this.applyRing(this.events.remove(obj as EventWire));
      return;
    }
    const key = wireKey(obj);
    if (kind === 'nodes')
      this.derive(this.derived.node(this.store.nodes.get(key) as NodeWire | undefined, undefined), true);
    this.store[kind].delete(key);
    this.dirty[kind].add(key);
    this.schedule();
  }

  // ── the events feed ──────────────────────────────────────────────────────────────────────
  /** Mirrors what the ring did into the store, marked dirty like any other kind's change. */
  private applyRing(ch: RingChange): void {
    for (const e of ch.dropped) {
      const key = wireKey(e);
      this.store.events.delete(key);
      this.dirty.events.add(key);
    }
    for (const e of ch.put) {
      const key = wireKey(e);
      this.store.events.set(key, e);
      this.dirty.events.add(key);
    }
    if (ch.put.length || ch.dropped.length) this.schedule();
  }

  /** Puts derived transitions into the feed; after node changes, the pools they touched too. */
  private derive(found: EventWire[], nodesChanged: boolean): void {
    const all = nodesChanged ? [...found, ...this.derived.pools()] : found;
    for (const e of all) this.applyRing(this.events.upsert(e));
  }

  private deriveAll(
    kind: 'nodes' | 'yurtappsets',
    old: Map<string, AnyWire>,
    fresh: Map<string, AnyWire>,
  ): void {
    const found: EventWire[] = [];
    for (const [key, obj] of fresh) {
      const before = old.get(key);
      if (before?.rv !== undefined && before.rv === obj.rv) continue;
      if (kind === 'nodes') found.push(...this.derived.node(before as NodeWire | undefined, obj as NodeWire));
      else found.push(...this.derived.app(before as YurtAppSetWire | undefined, obj as YurtAppSetWire));
    }
    if (kind === 'nodes')
      for (const [key, obj] of old) if (!fresh.has(key)) this.derived.node(obj as NodeWire, undefined);
    this.derive(found, kind === 'nodes');
  }

  /** A node Lease renewed: remembered always, sent only when it moved by heartbeatEveryMs. */
  private onLease(l: LeaseInfo): void {
    this.counters.leaseEvents++;
    if (!l.renewTime) return;
    this.heartbeats.set(l.name, l.renewTime);
    const sent = this.sentHeartbeats.get(l.name);
    const at = Date.parse(l.renewTime);
    if (sent === undefined || at - sent >= this.opts.heartbeatEveryMs) {
      this.dirtyHeartbeats.add(l.name);
      this.schedule();
    }
  }

  private onState(kind: WatchId, s: ResourceState): void {
    if (kind === 'nodeleases') return;
    if (kind === 'leases') {
      if (this.leasesState.status !== s.status) this.flavorDirty = true;
      this.leasesState = s;
      this.schedule();
      return;
    }
    const cur = this.states[kind];
    if (cur.status === s.status && cur.message === s.message) return;
    this.states[kind] = s;
    if (this.restTimer && [...FIRST].every((k) => this.states[k as ResourceKind].status !== 'syncing'))
      this.startRest();
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

  private onTrouble(_kind: WatchId, error: Error): void {
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
  private schedule(delayMs = this.opts.batchMs): void {
    if (this.stopped) return;
    if (this.flushTimer && delayMs < this.opts.batchMs) clearTimeout(this.flushTimer);
    else if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, delayMs);
  }

  /** Builds and emits one diff from everything marked dirty; exposed for tests. */
  flush(): ClusterDiff | null {
    const resources: Partial<Record<ResourceKind, ResourceDiff>> = {};
    let flavorInputsChanged = this.flavorDirty;
    this.flavorDirty = false;
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
        if (kind === 'nodepools' || kind === 'yurtappsets') flavorInputsChanged = true;
      }
    }
    this.dirtyState.clear();
    const diff: ClusterDiff = {
      clusterId: this.id,
      seq: this.seq + 1,
      at: this.iso(),
      resources: resources as ClusterDiff['resources'],
    };
    if (this.dirtyHeartbeats.size > 0) {
      const hb: Record<string, string> = {};
      for (const node of this.dirtyHeartbeats) {
        const at = this.heartbeats.get(node);
        if (!at) continue;
        hb[node] = at;
        this.sentHeartbeats.set(node, Date.parse(at));
      }
      this.dirtyHeartbeats.clear();
      diff.heartbeats = hb;
    }
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
    if (Object.keys(resources).length === 0 && !diff.connection && !diff.flavor && !diff.heartbeats)
      return null;
    this.seq = diff.seq;
    this.emit('cluster:diff', diff);
    return diff;
  }

  private computeFlavor(): ClusterFlavor {
    return detectFlavor({
      leases: this.leases.values(),
      leasesState: this.leasesState,
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
