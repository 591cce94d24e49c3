/**
 * What the fleet views show, derived from one cluster snapshot: pools with their members and
 * readiness, nodes with their edge settings, and YurtAppSets with their per-pool workloads.
 * Readiness is computed from the nodes themselves (live), beside what the controller last
 * wrote into the pool's status, so a stale controller is visible rather than hidden.
 */
import {
  ANNOTATION_AUTONOMY_DURATION,
  ANNOTATION_AUTONOMY_LEGACY,
  ANNOTATION_BINDING,
  LABEL_IS_EDGE_WORKER,
  LABEL_NODEPOOL,
  LABEL_POOL_NAME,
  LABEL_REF_YURTAPPSET,
} from '../../src-agent/api/labels.ts';
import type { NodePool } from '../../src-agent/api/nodepool.ts';
import type { LabelSelector, YurtAppSet } from '../../src-agent/api/yurtappset.ts';
import type { ClusterSnapshot, WireObject } from '../../src-main/ipc/types.ts';

interface Conditioned {
  status?: { conditions?: { type: string; status: string }[] };
}

function conditionTrue(o: WireObject, type: string): boolean {
  return ((o as Conditioned).status?.conditions ?? []).some((c) => c.type === type && c.status === 'True');
}

export interface NodeRow {
  name: string;
  ready: boolean;
  pool: string | undefined;
  /** Human text: "never evicted", "5m0s", "on (legacy)", or undefined when off. */
  autonomy: string | undefined;
  edge: boolean;
}

export interface PoolRow {
  name: string;
  type: string;
  members: NodeRow[];
  ready: number;
  notReady: number;
  /** What the controller last reported in status, if anything. */
  reported: { ready: number; notReady: number } | undefined;
  /** The pool exists only as a node label (no NodePool object). */
  orphan: boolean;
}

export interface AppPoolRow {
  pool: string;
  pods: number;
  readyPods: number;
}

export interface AppRow {
  namespace: string;
  name: string;
  pools: AppPoolRow[];
  readyWorkloads: number | undefined;
  totalWorkloads: number | undefined;
}

export function autonomyOf(node: WireObject): string | undefined {
  const a = node.metadata.annotations ?? {};
  const duration = a[ANNOTATION_AUTONOMY_DURATION];
  if (duration !== undefined) return duration === '0' ? 'never evicted' : duration;
  if (a[ANNOTATION_BINDING] === 'true') return 'pods bound';
  if (a[ANNOTATION_AUTONOMY_LEGACY] === 'true') return 'on (legacy)';
  return undefined;
}

export function nodeRows(snap: ClusterSnapshot): NodeRow[] {
  return snap.resources.nodes.items
    .map((n) => ({
      name: n.metadata.name,
      ready: conditionTrue(n, 'Ready'),
      pool: n.metadata.labels?.[LABEL_NODEPOOL],
      autonomy: autonomyOf(n),
      edge: n.metadata.labels?.[LABEL_IS_EDGE_WORKER] === 'true',
    }))
    .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
}

export function poolRows(snap: ClusterSnapshot): PoolRow[] {
  const nodes = nodeRows(snap);
  const rows: PoolRow[] = [];
  const seen = new Set<string>();
  for (const obj of snap.resources.nodepools.items) {
    const pool = obj as unknown as NodePool;
    const name = pool.metadata.name;
    seen.add(name);
    const members = nodes.filter((n) => n.pool === name);
    const st = pool.status;
    rows.push({
      name,
      type: pool.spec?.type ?? 'Edge',
      members,
      ready: members.filter((n) => n.ready).length,
      notReady: members.filter((n) => !n.ready).length,
      reported:
        st && (st.readyNodeNum !== undefined || st.unreadyNodeNum !== undefined)
          ? { ready: st.readyNodeNum ?? 0, notReady: st.unreadyNodeNum ?? 0 }
          : undefined,
      orphan: false,
    });
  }
  // A node labelled into a pool nobody created: show it rather than lose the node.
  for (const n of nodes) {
    if (!n.pool || seen.has(n.pool)) continue;
    seen.add(n.pool);
    const members = nodes.filter((m) => m.pool === n.pool);
    rows.push({
      name: n.pool,
      type: 'unknown',
      members,
      ready: members.filter((m) => m.ready).length,
      notReady: members.filter((m) => !m.ready).length,
      reported: undefined,
      orphan: true,
    });
  }
  return rows.sort((a, b) => a.name.localeCompare(b.name));
}

export function matchesSelector(labels: Record<string, string>, sel: LabelSelector): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const v = labels[e.key];
    const inValues = v !== undefined && (e.values ?? []).includes(v);
    if (e.operator === 'In' && !inValues) return false;
    if (e.operator === 'NotIn' && inValues) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** The pools a YurtAppSet targets: its explicit list plus the pools its selector matches. */
export function targetPools(yas: YurtAppSet, pools: NodePool[]): string[] {
  const out = new Set(yas.spec.pools ?? []);
  const sel = yas.spec.nodepoolSelector;
  if (sel) for (const p of pools) if (matchesSelector(p.metadata.labels ?? {}, sel)) out.add(p.metadata.name);
  return [...out].sort();
}

export function appRows(snap: ClusterSnapshot): AppRow[] {
  const pools = snap.resources.nodepools.items as unknown as NodePool[];
  const pods = snap.resources.pods.items;
  return (snap.resources.yurtappsets.items as unknown as YurtAppSet[])
    .map((yas) => {
      const ns = yas.metadata.namespace ?? 'default';
      const mine = pods.filter(
        (p) => p.metadata.namespace === ns && p.metadata.labels?.[LABEL_REF_YURTAPPSET] === yas.metadata.name,
      );
      const names = new Set(targetPools(yas, pools));
      for (const p of mine) {
        const pool = p.metadata.labels?.[LABEL_POOL_NAME];
        if (pool) names.add(pool);
      }
      return {
        namespace: ns,
        name: yas.metadata.name,
        pools: [...names].sort().map((pool) => {
          const inPool = mine.filter((p) => p.metadata.labels?.[LABEL_POOL_NAME] === pool);
          return {
            pool,
            pods: inPool.length,
            readyPods: inPool.filter((p) => conditionTrue(p, 'Ready')).length,
          };
        }),
        readyWorkloads: yas.status?.readyWorkloads,
        totalWorkloads: yas.status?.totalWorkloads,
      };
    })
    .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
}

/** "12 s", "3 min", "2 h": how old the data on screen is. */
export function age(fromIso: string | undefined, now: number): string {
  if (!fromIso) return 'unknown';
  const s = Math.max(0, Math.round((now - Date.parse(fromIso)) / 1000));
  if (s < 90) return `${s} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}
