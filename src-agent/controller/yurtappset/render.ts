/**
 * Renders the workload a YurtAppSet wants in one pool: the template, scheduled into the pool,
 * labelled as OpenYurt does, then that pool's tweaks applied in order. Pure functions.
 */
import { createHash } from 'node:crypto';
import { matchesSelector } from '../../api/label-selector.ts';
import { LABEL_NODEPOOL, LABEL_POOL_NAME, LABEL_REF_YURTAPPSET } from '../../api/labels.ts';
import type { NodePool } from '../../api/nodepool.ts';
import {
  ANNOTATION_WORKLOAD_REVISION,
  type TweakPatch,
  YURTAPPSET_RESOURCE,
  type YurtAppSet,
} from '../../api/yurtappset.ts';
import type { Workload } from '../kube-types.ts';

export type WorkloadKind = 'Deployment' | 'StatefulSet';

export class TweakError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TweakError';
  }
}

export function workloadKind(yas: YurtAppSet): WorkloadKind {
  return yas.spec.workload.workloadTemplate.statefulSetTemplate ? 'StatefulSet' : 'Deployment';
}

/** Deterministic, DNS-safe name: <app>-<pool>, shortened with a hash when too long for pod names. */
export function workloadName(app: string, pool: string): string {
  const name = `${app}-${pool}`;
  if (name.length <= 52) return name;
  const h = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, 43).replace(/[-.]+$/, '')}-${h}`;
}

/** JSON with sorted keys, so equal objects hash equally. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

const unescapePointer = (s: string) => s.replace(/~1/g, '/').replace(/~0/g, '~');

/** RFC 6902 add/remove/replace on a JSON document (mutates `doc`). */
export function applyJsonPatch(doc: unknown, patch: TweakPatch): void {
  if (!patch.path.startsWith('/')) throw new TweakError(`patch path "${patch.path}" must start with "/"`);
  const parts = patch.path.slice(1).split('/').map(unescapePointer);
  const last = parts.pop() as string;
  let cur: unknown = doc;
  for (const p of parts) {
    const next: unknown = Array.isArray(cur)
      ? cur[Number(p)]
      : (cur as Record<string, unknown> | undefined)?.[p];
    if (next === undefined || next === null || typeof next !== 'object') {
      if (patch.operation === 'add' && !Array.isArray(cur) && cur && typeof cur === 'object') {
        // Like OpenYurt's users expect from "add" on a missing parent: create the intermediate object.
        (cur as Record<string, unknown>)[p] = {};
        cur = (cur as Record<string, unknown>)[p];
        continue;
      }
      throw new TweakError(`patch path "${patch.path}": "${p}" does not exist`);
    }
    cur = next;
  }
  if (Array.isArray(cur)) {
    const i = last === '-' ? cur.length : Number(last);
    if (!Number.isInteger(i) || i < 0 || i > cur.length)
      throw new TweakError(`patch path "${patch.path}": bad index`);
    if (patch.operation === 'add') cur.splice(i, 0, structuredClone(patch.value));
    else if (i >= cur.length) throw new TweakError(`patch path "${patch.path}": index out of range`);
    else if (patch.operation === 'remove') cur.splice(i, 1);
    else cur[i] = structuredClone(patch.value);
    return;
  }
  if (!cur || typeof cur !== 'object')
    throw new TweakError(`patch path "${patch.path}": parent is not an object`);
  const o = cur as Record<string, unknown>;
  if (patch.operation !== 'add' && !Object.hasOwn(o, last)) {
    throw new TweakError(`patch path "${patch.path}": nothing to ${patch.operation}`);
  }
  if (patch.operation === 'remove') delete o[last];
  else o[last] = structuredClone(patch.value);
}

interface PodSpecLike {
  containers?: { name: string; image?: string }[];
  initContainers?: { name: string; image?: string }[];
  affinity?: {
    nodeAffinity?: {
      requiredDuringSchedulingIgnoredDuringExecution?: {
        nodeSelectorTerms?: { matchExpressions?: { key: string; operator: string; values?: string[] }[] }[];
      };
    };
  };
}

/** Adds "node in pool" to every required node-selector term (terms are ORed, so each needs it). */
function scheduleIntoPool(podSpec: PodSpecLike, pool: string): void {
  podSpec.affinity ??= {};
  podSpec.affinity.nodeAffinity ??= {};
  podSpec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution ??= {};
  const req = podSpec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution;
  const terms = req.nodeSelectorTerms?.length ? req.nodeSelectorTerms : [{}];
  for (const t of terms) {
    t.matchExpressions = [
      ...(t.matchExpressions ?? []).filter((e) => e.key !== LABEL_NODEPOOL),
      { key: LABEL_NODEPOOL, operator: 'In', values: [pool] },
    ];
  }
  req.nodeSelectorTerms = terms;
}

export interface RenderedWorkload {
  kind: WorkloadKind;
  pool: string;
  revision: string;
  object: Workload;
}

export function renderWorkload(yas: YurtAppSet, pool: NodePool): RenderedWorkload {
  const kind = workloadKind(yas);
  const tmpl =
    kind === 'StatefulSet'
      ? yas.spec.workload.workloadTemplate.statefulSetTemplate
      : yas.spec.workload.workloadTemplate.deploymentTemplate;
  if (!tmpl) throw new TweakError('workloadTemplate has neither deploymentTemplate nor statefulSetTemplate');
  const poolName = pool.metadata.name;
  const spec = structuredClone(tmpl.spec ?? {}) as Record<string, unknown> & {
    selector?: { matchLabels?: Record<string, string> };
    template?: { metadata?: { labels?: Record<string, string> }; spec?: PodSpecLike };
    replicas?: number;
  };
  spec.selector ??= {};
  spec.selector.matchLabels = { ...(spec.selector.matchLabels ?? {}), [LABEL_POOL_NAME]: poolName };
  spec.template ??= {};
  spec.template.metadata ??= {};
  spec.template.metadata.labels = {
    ...(spec.template.metadata.labels ?? {}),
    [LABEL_POOL_NAME]: poolName,
    [LABEL_REF_YURTAPPSET]: yas.metadata.name,
  };
  spec.template.spec ??= {};
  scheduleIntoPool(spec.template.spec, poolName);

  const object: Workload = {
    apiVersion: 'apps/v1',
    kind,
    metadata: {
      name: workloadName(yas.metadata.name, poolName),
      namespace: yas.metadata.namespace,
      labels: {
        ...(tmpl.metadata?.labels ?? {}),
        [LABEL_REF_YURTAPPSET]: yas.metadata.name,
        [LABEL_POOL_NAME]: poolName,
      },
      annotations: { ...(tmpl.metadata?.annotations ?? {}) },
      ownerReferences: [
        {
          apiVersion: `${YURTAPPSET_RESOURCE.group}/${YURTAPPSET_RESOURCE.version}`,
          kind: 'YurtAppSet',
          name: yas.metadata.name,
          uid: yas.metadata.uid ?? '',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec,
  };

  for (const tw of yas.spec.workload.workloadTweaks ?? []) {
    const applies =
      (tw.pools ?? []).includes(poolName) || matchesSelector(pool.metadata.labels, tw.nodepoolSelector);
    if (!applies) continue;
    const t = tw.tweaks ?? {};
    if (t.replicas !== undefined) spec.replicas = t.replicas;
    for (const ci of t.containerImages ?? []) {
      const podSpec = spec.template.spec;
      for (const c of [...(podSpec.containers ?? []), ...(podSpec.initContainers ?? [])]) {
        if (c.name === ci.name) c.image = ci.targetImage;
      }
    }
    for (const p of t.patches ?? []) applyJsonPatch(object, p);
  }
  const revision = createHash('sha256')
    .update(stableJson({ l: object.metadata.labels, a: object.metadata.annotations, s: object.spec }))
    .digest('hex')
    .slice(0, 10);
  (object.metadata.annotations as Record<string, string>)[ANNOTATION_WORKLOAD_REVISION] = revision;
  return { kind, pool: poolName, revision, object };
}
