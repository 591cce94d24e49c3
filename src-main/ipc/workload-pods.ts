/**
 * Which pods belong to which pool's workload of a YurtAppSet, for the Apps view. Pure, so the
 * renderer runs it on its own store.
 *
 * OpenYurt's yurt-manager labels the Deployments/StatefulSets it makes with
 * `apps.openyurt.io/ref-yurtappset` (and `apps.openyurt.io/pool-name`) and owns them, but their
 * pods only carry `apps.openyurt.io/pool-name`, `apps.openyurt.io/controller-revision-hash` and
 * the template's labels. So pods are tied to workloads through their owners (ReplicaSet →
 * Deployment, StatefulSet) or, where the owner chain is unknown, the workload's selector — never
 * through a label only our controller sets.
 */
import { matchesSelector } from '../../src-agent/api/label-selector.ts';
import { LABEL_POOL_NAME, LABEL_REF_YURTAPPSET } from '../../src-agent/api/labels.ts';
import type { LabelSelector } from '../../src-agent/api/yurtappset.ts';
import type { WireObject } from './types.ts';

export interface PoolWorkload {
  kind: 'Deployment' | 'StatefulSet';
  name: string;
  /** Unknown when only pods were given and the owner chain does not name one. */
  pool: string | undefined;
}

export interface YurtAppSetPods {
  /** Per pool (sorted by name): its workloads and their pods. */
  pools: { pool: string; workloads: PoolWorkload[]; pods: WireObject[] }[];
  /** Pods of the YurtAppSet whose pool could not be told (no pool-name label, no known workload). */
  unplaced: WireObject[];
}

export interface WorkloadObjects {
  /** Deployments and StatefulSets (any; those of this YurtAppSet are picked out). */
  workloads?: Iterable<WireObject>;
  /** ReplicaSets, to follow pod → ReplicaSet → Deployment exactly. */
  replicaSets?: Iterable<WireObject>;
}

const PREFIX_TEMPLATE = 'pod-template-hash';

function controllerOf(o: WireObject): { kind: string; name: string; uid: string } | undefined {
  return o.metadata.ownerReferences?.find((r) => r.controller) ?? undefined;
}

function templateOf(yas: WireObject): { kind: PoolWorkload['kind']; selector?: LabelSelector } {
  const wt = (
    (yas.spec as Record<string, unknown> | undefined)?.workload as Record<string, unknown> | undefined
  )?.workloadTemplate as Record<string, { spec?: { selector?: LabelSelector } } | undefined> | undefined;
  if (wt?.statefulSetTemplate && !wt.deploymentTemplate) {
    const selector = wt.statefulSetTemplate.spec?.selector;
    return selector ? { kind: 'StatefulSet', selector } : { kind: 'StatefulSet' };
  }
  const selector = wt?.deploymentTemplate?.spec?.selector;
  return selector ? { kind: 'Deployment', selector } : { kind: 'Deployment' };
}

/** The workload that (by its owner chain) runs this pod: its kind and name. */
function ownerWorkload(
  pod: WireObject,
  replicaSets: Map<string, WireObject>,
): { kind: PoolWorkload['kind']; name: string } | undefined {
  const owner = controllerOf(pod);
  if (!owner) return undefined;
  if (owner.kind === 'StatefulSet') return { kind: 'StatefulSet', name: owner.name };
  if (owner.kind !== 'ReplicaSet') return undefined;
  const rs = replicaSets.get(owner.name);
  const rsOwner = rs ? controllerOf(rs) : undefined;
  if (rsOwner?.kind === 'Deployment') return { kind: 'Deployment', name: rsOwner.name };
  // Without the ReplicaSet: a Deployment names its ReplicaSets `<deployment>-<pod-template-hash>`.
  const hash = pod.metadata.labels?.[PREFIX_TEMPLATE];
  if (!rs && hash && owner.name.endsWith(`-${hash}`))
    return { kind: 'Deployment', name: owner.name.slice(0, -hash.length - 1) };
  return undefined;
}

function isWorkloadOf(w: WireObject, yas: WireObject): boolean {
  if (w.metadata.namespace !== yas.metadata.namespace) return false;
  if (w.kind !== 'Deployment' && w.kind !== 'StatefulSet') return false;
  const owned = controllerOf(w);
  if (owned) return owned.kind === 'YurtAppSet' && owned.name === yas.metadata.name;
  return w.metadata.labels?.[LABEL_REF_YURTAPPSET] === yas.metadata.name;
}

export function mapYurtAppSetPods(
  yas: WireObject,
  pods: Iterable<WireObject>,
  objects: WorkloadObjects = {},
): YurtAppSetPods {
  const ns = yas.metadata.namespace;
  const template = templateOf(yas);
  const replicaSets = new Map<string, WireObject>();
  for (const rs of objects.replicaSets ?? [])
    if (rs.metadata.namespace === ns) replicaSets.set(rs.metadata.name, rs);
  const workloads = new Map<string, { w: WireObject; info: PoolWorkload }>();
  for (const w of objects.workloads ?? []) {
    if (!isWorkloadOf(w, yas)) continue;
    const info: PoolWorkload = {
      kind: w.kind as PoolWorkload['kind'],
      name: w.metadata.name,
      pool: w.metadata.labels?.[LABEL_POOL_NAME],
    };
    workloads.set(`${info.kind}/${info.name}`, { w, info });
  }
  const knowWorkloads = objects.workloads !== undefined;

  const byPool = new Map<string, { workloads: Map<string, PoolWorkload>; pods: WireObject[] }>();
  const unplaced: WireObject[] = [];
  const place = (pool: string | undefined, pod: WireObject, wl: PoolWorkload | undefined) => {
    if (!pool) {
      unplaced.push(pod);
      return;
    }
    let entry = byPool.get(pool);
    if (!entry) {
      entry = { workloads: new Map(), pods: [] };
      byPool.set(pool, entry);
    }
    if (wl) entry.workloads.set(`${wl.kind}/${wl.name}`, { ...wl, pool });
    entry.pods.push(pod);
  };

  for (const pod of pods) {
    if (pod.metadata.namespace !== ns) continue;
    const podPool = pod.metadata.labels?.[LABEL_POOL_NAME];
    const owner = ownerWorkload(pod, replicaSets);
    if (knowWorkloads) {
      // Owner chain first; then a workload whose selector matches (the one of the pod's pool if several).
      let hit = owner ? workloads.get(`${owner.kind}/${owner.name}`) : undefined;
      if (!hit && !owner) {
        const matching = [...workloads.values()].filter(({ w }) =>
          matchesSelector(
            pod.metadata.labels,
            (w.spec as { selector?: LabelSelector } | undefined)?.selector,
          ),
        );
        hit =
          matching.find((m) => m.info.pool === podPool) ?? (matching.length === 1 ? matching[0] : undefined);
      }
      if (hit) place(hit.info.pool ?? podPool, pod, hit.info);
      continue;
    }
    // Only pods known: the YurtAppSet's template selector says the pod is one of its replicas.
    if (!matchesSelector(pod.metadata.labels, template.selector)) continue;
    if (owner && owner.kind !== template.kind) continue;
    place(podPool, pod, owner ? { ...owner, pool: podPool } : undefined);
  }
  const pools = [...byPool.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([pool, e]) => ({ pool, workloads: [...e.workloads.values()], pods: e.pods }));
  return { pools, unplaced };
}
