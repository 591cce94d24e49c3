/**
 * What the NodePool controller wants to change, as pure functions of desired and actual state.
 *
 * Ownership rule: a node records in an annotation exactly which labels, annotations and taints its
 * pool put there, and which foreign values those replaced. On leaving the pool (or when the pool
 * drops a key) only our values are removed, the replaced foreign values come back, and anything
 * someone changed after us is theirs and left alone.
 */
import { LABEL_NODEPOOL, LABEL_NODEPOOL_TYPE } from '../../api/labels.ts';
import {
  ANNOTATION_NODEPOOL_APPLIED,
  CONDITION_NODEPOOL_DELETION_BLOCKED,
  type Condition,
  FINALIZER_NODEPOOL_MEMBERS,
  type NodePool,
  type NodePoolStatus,
  type Taint,
} from '../../api/nodepool.ts';
import { isNodeReady, type Node } from '../kube-types.ts';

export interface AppliedRecord {
  pool: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  taints: Taint[];
  /** Foreign values our values replaced, restored when ours go. */
  replaced?: { labels?: Record<string, string>; annotations?: Record<string, string>; taints?: Taint[] };
}

export function readApplied(node: Node): AppliedRecord | undefined {
  const raw = node.metadata.annotations?.[ANNOTATION_NODEPOOL_APPLIED];
  if (!raw) return undefined;
  try {
    const r = JSON.parse(raw) as AppliedRecord;
    return {
      pool: r.pool ?? '',
      labels: r.labels ?? {},
      annotations: r.annotations ?? {},
      taints: r.taints ?? [],
      replaced: r.replaced ?? {},
    };
  } catch {
    // A hand-edited, unreadable record: treat as nothing applied rather than guess what to remove.
    return undefined;
  }
}

const taintId = (t: Taint) => `${t.key}:${t.effect}`;
const sameTaint = (a: Taint, b: Taint) => taintId(a) === taintId(b) && (a.value ?? '') === (b.value ?? '');
const cleanTaint = (t: Taint): Taint =>
  t.value ? { key: t.key, value: t.value, effect: t.effect } : { key: t.key, effect: t.effect };

/** Merges a string map: ours in `desired`, previously ours in `prev`, foreign originals in `replaced`. */
function mergeMap(
  actual: Record<string, string>,
  desired: Record<string, string>,
  prev: Record<string, string>,
  prevReplaced: Record<string, string>,
): { result: Record<string, string>; replaced: Record<string, string> } {
  const result = { ...actual };
  const replaced: Record<string, string> = {};
  for (const [k, v] of Object.entries(prev)) {
    if (k in desired) continue;
    if (result[k] !== v) continue; // changed by someone else since: theirs now
    const original = prevReplaced[k];
    if (original !== undefined) result[k] = original;
    else delete result[k];
  }
  for (const [k, v] of Object.entries(desired)) {
    if (k in prev) {
      if (prevReplaced[k] !== undefined) replaced[k] = prevReplaced[k];
    } else if (result[k] !== undefined && result[k] !== v) {
      replaced[k] = result[k];
    }
    result[k] = v;
  }
  return { result, replaced };
}

function mergeTaints(actual: Taint[], desired: Taint[], prev: Taint[], prevReplaced: Taint[]) {
  const desiredIds = new Set(desired.map(taintId));
  const prevIds = new Set(prev.map(taintId));
  let result = [...actual];
  const replaced: Taint[] = [];
  for (const p of prev) {
    if (desiredIds.has(taintId(p))) continue;
    const i = result.findIndex((t) => sameTaint(t, p));
    if (i < 0) continue;
    const original = prevReplaced.find((t) => taintId(t) === taintId(p));
    if (original) result[i] = original;
    else result.splice(i, 1);
  }
  for (const d of desired) {
    const id = taintId(d);
    const i = result.findIndex((t) => taintId(t) === id);
    if (prevIds.has(id)) {
      const r = prevReplaced.find((t) => taintId(t) === id);
      if (r) replaced.push(r);
    } else if (i >= 0 && !sameTaint(result[i] as Taint, d)) {
      replaced.push(cleanTaint(result[i] as Taint));
    }
    if (i >= 0) {
      if (!sameTaint(result[i] as Taint, d)) result[i] = cleanTaint(d);
    } else result = [...result, cleanTaint(d)];
  }
  return { result, replaced };
}

/** A JSON merge patch of a string map: changed keys with their value, removed keys with null. */
function mapDiff(
  before: Record<string, string>,
  after: Record<string, string>,
): Record<string, string | null> {
  const diff: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(after)) if (before[k] !== v) diff[k] = v;
  for (const k of Object.keys(before)) if (!(k in after)) diff[k] = null;
  return diff;
}

export interface NodePlan {
  /** Merge patch for the node (carries resourceVersion: a concurrent change makes it a 409). */
  patch: Record<string, unknown>;
  summary: string;
}

/**
 * The node's pool is `pool` (undefined when it has no pool label or the pool does not exist).
 * Returns undefined when the node is already as it should be.
 */
export function planNode(node: Node, pool: NodePool | undefined): NodePlan | undefined {
  const prev = readApplied(node) ?? { pool: '', labels: {}, annotations: {}, taints: [], replaced: {} };
  const spec = pool?.spec ?? {};
  const desiredLabels = { ...(spec.labels ?? {}) };
  delete desiredLabels[LABEL_NODEPOOL]; // membership is the user's to set, never the pool's
  const desiredAnnotations = { ...(spec.annotations ?? {}) };
  delete desiredAnnotations[ANNOTATION_NODEPOOL_APPLIED];
  const desiredTaints = (spec.taints ?? []).map(cleanTaint);

  const labels0 = node.metadata.labels ?? {};
  const annotations0 = { ...(node.metadata.annotations ?? {}) };
  delete annotations0[ANNOTATION_NODEPOOL_APPLIED];
  const taints0 = node.spec?.taints ?? [];

  const l = mergeMap(labels0, desiredLabels, prev.labels, prev.replaced?.labels ?? {});
  const a = mergeMap(annotations0, desiredAnnotations, prev.annotations, prev.replaced?.annotations ?? {});
  const t = mergeTaints(taints0, desiredTaints, prev.taints, prev.replaced?.taints ?? []);

  const record: AppliedRecord = {
    pool: pool?.metadata.name ?? '',
    labels: desiredLabels,
    annotations: desiredAnnotations,
    taints: desiredTaints,
  };
  const replaced: AppliedRecord['replaced'] = {};
  if (Object.keys(l.replaced).length) replaced.labels = l.replaced;
  if (Object.keys(a.replaced).length) replaced.annotations = a.replaced;
  if (t.replaced.length) replaced.taints = t.replaced;
  if (Object.keys(replaced).length) record.replaced = replaced;
  const empty =
    !Object.keys(desiredLabels).length && !Object.keys(desiredAnnotations).length && !desiredTaints.length;
  const annotationsAfter = { ...a.result };
  if (!empty) annotationsAfter[ANNOTATION_NODEPOOL_APPLIED] = JSON.stringify(record);

  const labelPatch = mapDiff(labels0, l.result);
  const annotationPatch = mapDiff(node.metadata.annotations ?? {}, annotationsAfter);
  const taintsChanged = JSON.stringify(t.result) !== JSON.stringify(taints0);
  if (!Object.keys(labelPatch).length && !Object.keys(annotationPatch).length && !taintsChanged)
    return undefined;

  const metadata: Record<string, unknown> = { resourceVersion: node.metadata.resourceVersion };
  if (Object.keys(labelPatch).length) metadata.labels = labelPatch;
  if (Object.keys(annotationPatch).length) metadata.annotations = annotationPatch;
  const patch: Record<string, unknown> = { metadata };
  if (taintsChanged) patch.spec = { taints: t.result.length ? t.result : null };
  const parts = [
    Object.keys(labelPatch).length ? `labels ${Object.keys(labelPatch).join(',')}` : '',
    Object.keys(annotationPatch).filter((k) => k !== ANNOTATION_NODEPOOL_APPLIED).length
      ? `annotations ${Object.keys(annotationPatch)
          .filter((k) => k !== ANNOTATION_NODEPOOL_APPLIED)
          .join(',')}`
      : '',
    taintsChanged ? `taints [${t.result.map(taintId).join(',')}]` : '',
  ].filter(Boolean);
  return { patch, summary: parts.join('; ') || 'bookkeeping' };
}

/** The pool's status as it should be, from its member nodes. */
export function poolStatus(members: Node[], conditions: Condition[] | undefined): NodePoolStatus {
  const ready = members.filter(isNodeReady).length;
  const status: NodePoolStatus = {
    readyNodeNum: ready,
    unreadyNodeNum: members.length - ready,
    nodes: members.map((n) => n.metadata.name).sort(),
  };
  if (conditions?.length) status.conditions = conditions;
  return status;
}

export function statusEqual(a: NodePoolStatus | undefined, b: NodePoolStatus): boolean {
  const norm = (s: NodePoolStatus | undefined) =>
    JSON.stringify({
      r: s?.readyNodeNum ?? 0,
      u: s?.unreadyNodeNum ?? 0,
      n: s?.nodes ?? [],
      c: (s?.conditions ?? []).map((c) => [c.type, c.status, c.reason, c.message]),
    });
  return norm(a) === norm(b);
}

/** Sets or replaces a condition, keeping lastTransitionTime when the status did not change. */
export function setCondition(list: Condition[] | undefined, c: Condition, now = new Date()): Condition[] {
  const out = (list ?? []).filter((x) => x.type !== c.type);
  const old = list?.find((x) => x.type === c.type);
  const lastTransitionTime =
    old && old.status === c.status && old.lastTransitionTime
      ? old.lastTransitionTime
      : now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return [...out, { ...c, lastTransitionTime }];
}

export interface PoolMetaPlan {
  patch?: Record<string, unknown>;
  /** Deleting with members left: the message for the condition and event. */
  blocked?: string;
}

/** Finalizer and type label on the pool object itself. */
export function planPoolMeta(pool: NodePool, members: Node[]): PoolMetaPlan {
  const finalizers = pool.metadata.finalizers ?? [];
  const has = finalizers.includes(FINALIZER_NODEPOOL_MEMBERS);
  if (pool.metadata.deletionTimestamp) {
    if (members.length > 0) {
      const names = members.map((n) => n.metadata.name).sort();
      const shown = names.slice(0, 5).join(', ') + (names.length > 5 ? `, … (${names.length} in all)` : '');
      return {
        blocked:
          `NodePool ${pool.metadata.name} still has ${names.length} member node(s): ${shown}; ` +
          `move them to another pool or remove the label ${LABEL_NODEPOOL} from them, and the pool is deleted`,
      };
    }
    if (!has) return {};
    return {
      patch: {
        metadata: {
          resourceVersion: pool.metadata.resourceVersion,
          finalizers: finalizers.filter((f) => f !== FINALIZER_NODEPOOL_MEMBERS),
        },
      },
    };
  }
  const metadata: Record<string, unknown> = {};
  const typeLabel = (pool.spec?.type ?? 'Edge').toLowerCase();
  if (pool.metadata.labels?.[LABEL_NODEPOOL_TYPE] !== typeLabel)
    metadata.labels = { [LABEL_NODEPOOL_TYPE]: typeLabel };
  if (!has) metadata.finalizers = [...finalizers, FINALIZER_NODEPOOL_MEMBERS];
  if (!Object.keys(metadata).length) return {};
  metadata.resourceVersion = pool.metadata.resourceVersion;
  return { patch: { metadata } };
}

export const deletionBlockedCondition = (message: string | undefined): Condition =>
  message
    ? { type: CONDITION_NODEPOOL_DELETION_BLOCKED, status: 'True', reason: 'MembersRemain', message }
    : { type: CONDITION_NODEPOOL_DELETION_BLOCKED, status: 'False', reason: 'NoMembers', message: '' };
