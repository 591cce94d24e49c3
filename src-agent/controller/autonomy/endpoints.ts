/**
 * Keeps Service endpoints of pods on autonomous, cut-off nodes ready.
 *
 * When a node stops heartbeating, kube-controller-manager's node-lifecycle controller marks its
 * pods' Ready condition False and the Endpoints/EndpointSlice controllers move them to not-ready,
 * so traffic from the rest of the cluster (and from the node's own pool, through the hub's cache)
 * stops reaching pods that are most likely still serving. Autonomy means "the link dropped, the
 * node did not": the mutating webhook (webhook.ts) rewrites such endpoints back to ready.
 *
 * An endpoint is kept ready only when all of these hold, so a pod that is really broken is not:
 *  - its node is autonomous (autonomy-duration / binding / legacy annotation);
 *  - the node's Ready condition is Unknown: the control plane lost contact, as opposed to a kubelet
 *    reporting NotReady (runtime down), where pods really may not serve;
 *  - the pod still exists, is not being deleted, and its ContainersReady condition — the kubelet's
 *    last word on its containers, which the node-lifecycle controller leaves alone — is True.
 * Once the node reports again, the endpoint controllers write the pods' real readiness and this
 * no longer applies, so nothing stale remains.
 *
 * Pure functions; the webhook supplies node and pod lookups.
 */
import type { Node, Pod } from '../kube-types.ts';
import { autonomySeconds } from './plan.ts';

export interface ObjectRefLike {
  kind?: string;
  namespace?: string;
  name?: string;
}

/** discovery.k8s.io/v1 EndpointSlice, as far as readiness goes. */
export interface EndpointSlice {
  metadata: { name?: string; namespace?: string };
  endpoints?: {
    addresses: string[];
    nodeName?: string;
    targetRef?: ObjectRefLike;
    conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  }[];
}

export interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef?: ObjectRefLike;
}

/** core/v1 Endpoints. */
export interface Endpoints {
  metadata: { name?: string; namespace?: string };
  subsets?: { addresses?: EndpointAddress[]; notReadyAddresses?: EndpointAddress[]; ports?: unknown[] }[];
}

/** RFC 6902 operation, as the admission response carries it. */
export interface JsonPatchOp {
  op: 'add' | 'replace' | 'remove';
  path: string;
  value?: unknown;
}

export interface Lookups {
  node(name: string): Node | undefined;
  /** May hit the API: the webhook only asks for pods on autonomous, cut-off nodes. */
  pod(namespace: string, name: string): Promise<Pod | undefined>;
}

export function isNodeCutOff(node: Node): boolean {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  return ready?.status === 'Unknown';
}

const condition = (pod: Pod, type: string) => pod.status?.conditions?.find((c) => c.type === type)?.status;

/** Whether the endpoint of this pod on this node should be kept ready despite its pod's Ready=False. */
export async function keepReady(
  nodeName: string | undefined,
  ref: ObjectRefLike | undefined,
  fallbackNamespace: string | undefined,
  lookups: Lookups,
): Promise<boolean> {
  if (!nodeName || ref?.kind !== 'Pod' || !ref.name) return false;
  const node = lookups.node(nodeName);
  if (!node || autonomySeconds(node) === undefined || !isNodeCutOff(node)) return false;
  const namespace = ref.namespace ?? fallbackNamespace;
  if (!namespace) return false;
  const pod = await lookups.pod(namespace, ref.name);
  if (!pod || pod.metadata.deletionTimestamp || pod.spec?.nodeName !== nodeName) return false;
  if (pod.status?.phase !== 'Running') return false;
  return condition(pod, 'ContainersReady') === 'True';
}

/** JSON patch making the endpoints that qualify ready (and serving) again; empty when none do. */
export async function planEndpointSlice(slice: EndpointSlice, lookups: Lookups): Promise<JsonPatchOp[]> {
  const eps = slice.endpoints ?? [];
  const decisions = await Promise.all(
    eps.map((ep) =>
      ep.conditions?.ready === true || ep.conditions?.terminating === true
        ? false
        : keepReady(ep.nodeName, ep.targetRef, slice.metadata.namespace, lookups),
    ),
  );
  const ops: JsonPatchOp[] = [];
  decisions.forEach((keep, i) => {
    if (!keep) return;
    const conditions = { ...(eps[i]?.conditions ?? {}), ready: true, serving: true };
    ops.push({
      op: eps[i]?.conditions ? 'replace' : 'add',
      path: `/endpoints/${i}/conditions`,
      value: conditions,
    });
  });
  return ops;
}

/** JSON patch moving qualifying notReadyAddresses to addresses; empty when none qualify. */
export async function planEndpoints(ep: Endpoints, lookups: Lookups): Promise<JsonPatchOp[]> {
  const subsets = ep.subsets ?? [];
  let changed = false;
  const next = await Promise.all(
    subsets.map(async (s) => {
      const notReady = s.notReadyAddresses ?? [];
      if (notReady.length === 0) return s;
      const keep = await Promise.all(
        notReady.map((a) => keepReady(a.nodeName, a.targetRef, ep.metadata.namespace, lookups)),
      );
      if (!keep.some(Boolean)) return s;
      changed = true;
      const out = { ...s, addresses: [...(s.addresses ?? []), ...notReady.filter((_, i) => keep[i])] };
      const rest = notReady.filter((_, i) => !keep[i]);
      if (rest.length > 0) out.notReadyAddresses = rest;
      else delete out.notReadyAddresses;
      return out;
    }),
  );
  return changed ? [{ op: 'replace', path: '/subsets', value: next }] : [];
}
