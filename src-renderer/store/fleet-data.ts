/**
 * One cluster's objects as the renderer holds them: per-kind maps plus the indexes views ask
 * for (nodes by pool, pods by node and by app, counts per pool), updated in place by each diff.
 * A diff touches only the objects it carries and notifies only the topics they belong to, so a
 * view that shows one pool re-renders when that pool changes, not when any pod anywhere does.
 *
 * Topics: `kind:<kind>` (membership of a kind changed: added/removed), `obj:<kind>:<key>`,
 * `pool:<name>` (a member or the summary changed), `pools` (the set of pools or a node's pool
 * changed), `health` (some node's state changed), `podsOf:<node>`, `app:<ns/name>`, `svc:<ns/name>` (its EndpointSlices), `hb:<node>`,
 * `events` (any event of the feed added, changed or gone: the feed's order follows last time).
 */
import { LABEL_NODEPOOL, LABEL_POOL_NAME, LABEL_REF_YURTAPPSET } from '../../src-main/ipc/edge-api.ts';
import { type NodeHealth, nodeHealth } from '../../src-main/ipc/node-health.ts';
import {
  type AnyWire,
  type ClusterDiff,
  type ClusterSnapshot,
  type EndpointSliceWire,
  type NodeWire,
  type PodWire,
  RESOURCE_KINDS,
  type ResourceKind,
  type WireByKind,
} from '../../src-main/ipc/types.ts';
import { wireKey } from '../../src-main/ipc/wire-key.ts';
import { countArrival } from '../debug/render-count.ts';

export interface PoolSummary {
  members: number;
  ready: number;
  autonomous: number;
  notReady: number;
  cordoned: number;
}

const emptySummary = (): PoolSummary => ({ members: 0, ready: 0, autonomous: 0, notReady: 0, cordoned: 0 });
/** One shared value for pools without members: reads must be stable (useSyncExternalStore loops otherwise). */
const NO_MEMBERS: PoolSummary = Object.freeze(emptySummary());
const HEALTH_FIELD: Record<NodeHealth, keyof PoolSummary> = {
  ready: 'ready',
  autonomous: 'autonomous',
  'not-ready': 'notReady',
  cordoned: 'cordoned',
};

/** The pool a node is in ('' when none). */
export const poolOfNode = (n: NodeWire): string => n.labels?.[LABEL_NODEPOOL] ?? '';
/** `namespace/yurtappset` a pod belongs to, from the labels our controller sets. */
export const appOfPod = (p: PodWire): string | undefined => {
  const yas = p.labels?.[LABEL_REF_YURTAPPSET];
  return yas ? `${p.namespace}/${yas}` : undefined;
};
export const poolOfPod = (p: PodWire): string | undefined => p.labels?.[LABEL_POOL_NAME];

function addTo(index: Map<string, Set<string>>, k: string, v: string): void {
  const set = index.get(k);
  if (set) set.add(v);
  else index.set(k, new Set([v]));
}
function removeFrom(index: Map<string, Set<string>>, k: string, v: string): void {
  const set = index.get(k);
  if (!set) return;
  set.delete(v);
  if (set.size === 0) index.delete(k);
}

type Maps = { [K in ResourceKind]: Map<string, WireByKind[K]> };

export class FleetData {
  readonly objects: Maps = Object.fromEntries(RESOURCE_KINDS.map((k) => [k, new Map()])) as unknown as Maps;
  readonly heartbeats = new Map<string, string>();
  readonly nodesByPool = new Map<string, Set<string>>();
  readonly podsByNode = new Map<string, Set<string>>();
  readonly podsByApp = new Map<string, Set<string>>();
  /** `namespace/service` → its EndpointSlices' keys. */
  readonly slicesByService = new Map<string, Set<string>>();
  private readonly summaries = new Map<string, PoolSummary>();
  private readonly health = new Map<string, NodeHealth>();
  private readonly sorted = new Map<ResourceKind, string[]>();
  private readonly listeners = new Map<string, Set<() => void>>();
  private readonly pending = new Set<string>();
  private readonly versions = new Map<string, number>();
  private readonly memberLists = new Map<string, string[]>();
  private poolNameList: string[] | null = null;
  /**
   * Work done by the last load/apply, in object and index operations: what the O(1)-per-change
   * claim is tested on (a diff of one pod costs the same at 50 pods as at 50,000).
   */
  lastWork = 0;

  // ── reading ────────────────────────────────────────────────────────────────────────────────
  get<K extends ResourceKind>(kind: K, key: string): WireByKind[K] | undefined {
    return this.objects[kind].get(key);
  }

  /** Keys of a kind, sorted by name (numeric-aware); cached until the kind's membership changes. */
  keys(kind: ResourceKind): string[] {
    let list = this.sorted.get(kind);
    if (!list) {
      list = [...this.objects[kind].keys()].sort(compareNames);
      this.sorted.set(kind, list);
    }
    return list;
  }

  /** Pool names: NodePool objects plus pools that exist only as a node label; cached. */
  poolNames(): string[] {
    if (!this.poolNameList) {
      const names = new Set(this.objects.nodepools.keys());
      for (const p of this.nodesByPool.keys()) if (p) names.add(p);
      this.poolNameList = [...names].sort(compareNames);
    }
    return this.poolNameList;
  }

  /** A pool's member node names, sorted; cached until its membership changes ('' = no pool). */
  members(pool: string): string[] {
    let list = this.memberLists.get(pool);
    if (!list) {
      list = [...(this.nodesByPool.get(pool) ?? [])].sort(compareNames);
      this.memberLists.set(pool, list);
    }
    return list;
  }

  /** How often a topic was notified: a cheap "did anything I derive from change" for useMemo. */
  version(topic: string): number {
    return this.versions.get(topic) ?? 0;
  }

  poolSummary(pool: string): PoolSummary {
    return this.summaries.get(pool) ?? NO_MEMBERS;
  }

  nodeHealth(name: string): NodeHealth | undefined {
    return this.health.get(name);
  }

  // ── subscriptions ──────────────────────────────────────────────────────────────────────────
  subscribe(topic: string, cb: () => void): () => void {
    const set = this.listeners.get(topic) ?? new Set<() => void>();
    this.listeners.set(topic, set);
    set.add(cb);
    return () => {
      set.delete(cb);
      if (set.size === 0) this.listeners.delete(topic);
    };
  }

  private touch(topic: string): void {
    this.pending.add(topic);
  }

  private notify(): void {
    const topics = [...this.pending];
    this.pending.clear();
    for (const t of topics) this.versions.set(t, (this.versions.get(t) ?? 0) + 1);
    for (const t of topics) for (const cb of this.listeners.get(t) ?? []) cb();
  }

  // ── writing ────────────────────────────────────────────────────────────────────────────────
  /** Replaces everything with a snapshot's content (a full rebuild; every topic is notified). */
  load(snap: ClusterSnapshot): void {
    let work = 0;
    for (const kind of RESOURCE_KINDS) {
      for (const key of [...this.objects[kind].keys()]) this.remove(kind, key);
      for (const o of snap.resources[kind].items) {
        this.upsert(kind, o as AnyWire);
        work++;
      }
    }
    this.heartbeats.clear();
    for (const [node, at] of Object.entries(snap.heartbeats ?? {})) this.heartbeats.set(node, at);
    for (const t of this.listeners.keys()) this.pending.add(t);
    for (const t of this.versions.keys()) this.pending.add(t);
    this.lastWork = work;
    this.notify();
  }

  apply(d: ClusterDiff): void {
    this.lastWork = 0;
    for (const kind of RESOURCE_KINDS) {
      const rd = d.resources[kind];
      if (!rd) continue;
      for (const o of rd.upserts) this.upsert(kind, o as AnyWire);
      for (const k of rd.removes) this.remove(kind, k);
    }
    for (const [node, at] of Object.entries(d.heartbeats ?? {})) {
      this.heartbeats.set(node, at);
      this.lastWork++;
      this.touch(`hb:${node}`);
    }
    countArrival('heartbeats', Object.keys(d.heartbeats ?? {}).length);
    countArrival('nodes', d.resources.nodes?.upserts.length ?? 0);
    this.notify();
  }

  private upsert(kind: ResourceKind, o: AnyWire): void {
    const key = wireKey(o);
    const map = this.objects[kind] as Map<string, AnyWire>;
    const old = map.get(key);
    this.lastWork++;
    if (old && old.rv !== undefined && old.rv === o.rv) return;
    map.set(key, o);
    this.touch(`obj:${kind}:${key}`);
    if (!old) {
      this.sorted.delete(kind);
      this.touch(`kind:${kind}`);
      if (kind === 'nodepools') this.poolNameList = null;
    }
    if (kind === 'nodes') this.indexNode(key, old as NodeWire | undefined, o as NodeWire);
    else if (kind === 'pods') this.indexPod(key, old as PodWire | undefined, o as PodWire);
    else if (kind === 'nodepools') this.touch(`pool:${key}`);
    else if (kind === 'endpointslices')
      this.indexSlice(key, old as EndpointSliceWire | undefined, o as EndpointSliceWire);
    else if (kind === 'events') this.touch('events');
  }

  private indexSlice(
    key: string,
    old: EndpointSliceWire | undefined,
    now: EndpointSliceWire | undefined,
  ): void {
    const svc = (s: EndpointSliceWire) => (s.service ? `${s.namespace}/${s.service}` : undefined);
    const before = old && svc(old);
    const after = now && svc(now);
    if (before && before !== after) removeFrom(this.slicesByService, before, key);
    if (after) addTo(this.slicesByService, after, key);
    if (before) this.touch(`svc:${before}`);
    if (after) this.touch(`svc:${after}`);
    this.lastWork++;
  }

  private remove(kind: ResourceKind, key: string): void {
    const map = this.objects[kind] as Map<string, AnyWire>;
    const old = map.get(key);
    this.lastWork++;
    if (!old) return;
    map.delete(key);
    this.sorted.delete(kind);
    if (kind === 'nodepools') this.poolNameList = null;
    this.touch(`obj:${kind}:${key}`);
    this.touch(`kind:${kind}`);
    if (kind === 'nodes') this.indexNode(key, old as NodeWire, undefined);
    else if (kind === 'pods') this.indexPod(key, old as PodWire, undefined);
    else if (kind === 'nodepools') this.touch(`pool:${key}`);
    else if (kind === 'endpointslices') this.indexSlice(key, old as EndpointSliceWire, undefined);
    else if (kind === 'events') this.touch('events');
  }

  private indexNode(name: string, old: NodeWire | undefined, now: NodeWire | undefined): void {
    const oldPool = old ? poolOfNode(old) : undefined;
    const newPool = now ? poolOfNode(now) : undefined;
    const oldHealth = this.health.get(name);
    const newHealth = now ? nodeHealth(now) : undefined;
    if (oldPool === newPool && oldHealth === newHealth) {
      if (newPool !== undefined) this.touch(`pool:${newPool}`);
      return;
    }
    if (newHealth !== oldHealth) this.touch('health');
    if (oldPool !== newPool) {
      if (oldPool !== undefined) this.memberLists.delete(oldPool);
      if (newPool !== undefined) this.memberLists.delete(newPool);
      this.poolNameList = null;
    }
    if (oldPool !== undefined && oldHealth) {
      removeFrom(this.nodesByPool, oldPool, name);
      this.bump(oldPool, oldHealth, -1);
      this.touch(`pool:${oldPool}`);
    }
    if (newHealth) this.health.set(name, newHealth);
    else this.health.delete(name);
    if (newPool !== undefined && newHealth) {
      addTo(this.nodesByPool, newPool, name);
      this.bump(newPool, newHealth, +1);
      this.touch(`pool:${newPool}`);
    }
    if (oldPool !== newPool) this.touch('pools');
    this.lastWork += 2;
  }

  private bump(pool: string, h: NodeHealth, by: 1 | -1): void {
    const prev = this.summaries.get(pool) ?? emptySummary();
    // A new object, so a view holding the old summary sees the change by identity.
    const next = { ...prev, members: prev.members + by, [HEALTH_FIELD[h]]: prev[HEALTH_FIELD[h]] + by };
    if (next.members === 0) this.summaries.delete(pool);
    else this.summaries.set(pool, next);
  }

  private indexPod(key: string, old: PodWire | undefined, now: PodWire | undefined): void {
    const oldNode = old?.node;
    const newNode = now?.node;
    if (oldNode !== newNode) {
      if (oldNode) removeFrom(this.podsByNode, oldNode, key);
      if (newNode) addTo(this.podsByNode, newNode, key);
    }
    if (oldNode) this.touch(`podsOf:${oldNode}`);
    if (newNode) this.touch(`podsOf:${newNode}`);
    const oldApp = old ? appOfPod(old) : undefined;
    const newApp = now ? appOfPod(now) : undefined;
    if (oldApp !== newApp) {
      if (oldApp) removeFrom(this.podsByApp, oldApp, key);
      if (newApp) addTo(this.podsByApp, newApp, key);
    }
    if (oldApp) this.touch(`app:${oldApp}`);
    if (newApp) this.touch(`app:${newApp}`);
    this.lastWork += 2;
  }
}

const collator = new Intl.Collator(undefined, { numeric: true });
export function compareNames(a: string, b: string): number {
  return collator.compare(a, b);
}
