/**
 * What this user can do in this cluster, asked of the cluster itself: one SelfSubjectAccessReview
 * per permission an action needs, what apps.openyurt.io serves, and which controller runs (Lease,
 * Deployment or webhook configuration). An action the user may not do is listed disabled with the
 * reason and the RBAC rules that would allow it.
 */
import { OPENYURT_GROUP } from '../../src-agent/api/labels.ts';
import { EXPLANATIONS, recogniseControlPlane, reduceLease } from '../clusters/detect.ts';
import type {
  ControlPlaneInfo,
  FleetAction,
  FleetCapabilities,
  FleetCapability,
  RbacRule,
} from '../ipc/fleet-types.ts';
import type { WireObject } from '../ipc/types.ts';
import { type Access, describeRule, resourceLabel, ruleFor, where } from './api-errors.ts';
import { discoverOpenYurt, type Served } from './discovery.ts';
import type { FleetKube, Ref } from './kube.ts';

const ny = (verb: string, resource: string, namespace?: string): Access => ({
  verb,
  group: OPENYURT_GROUP,
  resource,
  ...(namespace ? { namespace } : {}),
});
const core = (verb: string, resource: string, subresource?: string, namespace?: string): Access => ({
  verb,
  group: '',
  resource,
  ...(subresource ? { subresource } : {}),
  ...(namespace ? { namespace } : {}),
});

interface ActionSpec {
  action: FleetAction;
  label: string;
  needs: (ns?: string) => Access[];
  /** The served resource the action writes. */
  resource?: 'nodepools' | 'yurtappsets';
  /** Not offered whatever RBAC says, with this reason. */
  unsupported?: string;
  /** Only this controller acts on the change: not offered when another (or none) runs. */
  controller?: 'edgefleet';
}

export const ACTIONS: ActionSpec[] = [
  {
    action: 'nodepools:create',
    label: 'create node pools',
    // Server-side apply of a new object needs both.
    needs: () => [ny('create', 'nodepools'), ny('patch', 'nodepools')],
    resource: 'nodepools',
  },
  {
    action: 'nodepools:edit',
    label: 'edit node pools',
    needs: () => [ny('get', 'nodepools'), ny('patch', 'nodepools')],
    resource: 'nodepools',
  },
  {
    action: 'nodepools:delete',
    label: 'delete empty node pools',
    needs: () => [ny('delete', 'nodepools'), core('list', 'nodes')],
    resource: 'nodepools',
  },
  {
    action: 'nodes:assign-pool',
    label: 'move nodes between pools',
    needs: () => [core('get', 'nodes'), core('patch', 'nodes')],
    resource: 'nodepools',
  },
  {
    action: 'nodes:autonomy',
    label: 'set node autonomy',
    needs: () => [core('get', 'nodes'), core('patch', 'nodes')],
  },
  {
    action: 'nodes:cordon',
    label: 'cordon and uncordon nodes',
    needs: () => [core('get', 'nodes'), core('patch', 'nodes')],
  },
  {
    action: 'nodes:drain',
    label: 'drain nodes (evictions that respect PodDisruptionBudgets)',
    needs: () => [core('patch', 'nodes'), core('list', 'pods'), core('create', 'pods', 'eviction')],
  },
  {
    action: 'yurtappsets:create',
    label: 'create YurtAppSets',
    needs: (ns) => [ny('create', 'yurtappsets', ns), ny('patch', 'yurtappsets', ns)],
    resource: 'yurtappsets',
  },
  {
    action: 'yurtappsets:edit',
    label: 'change a YurtAppSet’s image (rolled out pool by pool)',
    needs: (ns) => [ny('get', 'yurtappsets', ns), ny('patch', 'yurtappsets', ns)],
    resource: 'yurtappsets',
  },
  {
    action: 'yurtappsets:pause',
    label: 'pause and resume a rollout',
    needs: (ns) => [ny('get', 'yurtappsets', ns), ny('patch', 'yurtappsets', ns)],
    resource: 'yurtappsets',
    controller: 'edgefleet',
  },
  {
    action: 'pods:log',
    label: 'read pod logs',
    needs: (ns) => [core('get', 'pods', 'log', ns)],
  },
  {
    action: 'pods:exec',
    label: 'open a shell in a pod',
    // The exec WebSocket is a `create` on pods/exec since Kubernetes 1.30 (a `get` before).
    needs: (ns) => [core('create', 'pods', 'exec', ns)],
  },
];

/** Why an action that only one controller honours is not offered under another. */
const CONTROLLER_NEEDED: Record<'edgefleet', string> = {
  edgefleet:
    'Only the EdgeFleet controller honours the pause annotation (apps.edgefleet.io/rollout-paused); OpenYurt’s YurtAppSet has no pause. Install EdgeFleet’s controller to pause rollouts.',
};

const key = (a: Access) => `${a.verb} ${resourceLabel(a)} ${a.namespace ?? ''}`;

async function allowed(kube: FleetKube, a: Access): Promise<{ allowed: boolean; reason?: string }> {
  const attrs: Record<string, string> = { verb: a.verb, group: a.group, resource: a.resource };
  if (a.subresource) attrs.subresource = a.subresource;
  if (a.namespace) attrs.namespace = a.namespace;
  const review = await kube.create<{ status?: { allowed?: boolean; reason?: string } }>(
    { group: 'authorization.k8s.io', version: 'v1', resource: 'selfsubjectaccessreviews' },
    {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: attrs },
    },
  );
  const out: { allowed: boolean; reason?: string } = { allowed: review.status?.allowed === true };
  if (review.status?.reason) out.reason = review.status.reason;
  return out;
}

async function whoAmI(kube: FleetKube): Promise<string | undefined> {
  const res = await kube.call(
    'POST',
    { group: 'authentication.k8s.io', version: 'v1', resource: 'selfsubjectreviews' },
    {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    },
  );
  return (res.body as { status?: { userInfo?: { username?: string } } } | undefined)?.status?.userInfo
    ?.username;
}

/** Lists that may be forbidden: what we could read, plus whether we could. */
async function tryList(
  kube: FleetKube,
  ref: Ref,
  fieldSelector?: string,
): Promise<WireObject[] | 'forbidden'> {
  const res = await kube.call('GET', ref, { query: { fieldSelector, limit: '50' } });
  if (res.status === 403) return 'forbidden';
  if (res.status !== 200) return [];
  const body = res.body as { kind?: string; items?: WireObject[] };
  const kind = body.kind?.replace(/List$/, '');
  return (body.items ?? []).map((o) => (kind && !o.kind ? { ...o, kind } : o));
}

async function controlPlane(kube: FleetKube, served: Served): Promise<ControlPlaneInfo> {
  const deployments: Ref = { group: 'apps', version: 'v1', resource: 'deployments' };
  const webhooks = (resource: string): Ref => ({
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    resource,
  });
  const reads = await Promise.all([
    tryList(kube, {
      group: 'coordination.k8s.io',
      version: 'v1',
      resource: 'leases',
      namespace: 'kube-system',
    }),
    tryList(kube, deployments, 'metadata.name=yurt-manager'),
    tryList(kube, deployments, 'metadata.name=edgefleet-controller'),
    tryList(kube, webhooks('mutatingwebhookconfigurations')),
    tryList(kube, webhooks('validatingwebhookconfigurations')),
  ]);
  const [leases, yurtManager, ours, mutating, validating] = reads.map((r) =>
    r === 'forbidden' ? [] : r,
  ) as WireObject[][];
  const found = recogniseControlPlane({
    leases: (leases ?? []).map((l) => reduceLease(l)),
    deployments: [...(yurtManager ?? []), ...(ours ?? [])],
    webhookConfigurations: [...(mutating ?? []), ...(validating ?? [])],
  });
  if (found.kind)
    return { kind: found.kind, evidence: found.evidence, explanation: EXPLANATIONS[found.kind] };
  if (reads.every((r) => r === 'forbidden'))
    return {
      kind: 'unknown',
      evidence: [],
      explanation:
        'Cannot tell which controller runs: this user may not read Leases, Deployments or webhook configurations.',
    };
  return {
    kind: 'none',
    evidence: [],
    explanation: served.nodepools ? EXPLANATIONS.crdsOnly : EXPLANATIONS.plain,
  };
}

export async function checkCapabilities(
  kube: FleetKube,
  clusterId: string,
  namespace?: string,
): Promise<FleetCapabilities> {
  const served = await discoverOpenYurt(kube);
  const [cp, user] = await Promise.all([controlPlane(kube, served), whoAmI(kube).catch(() => undefined)]);
  const needs = ACTIONS.map((a) => a.needs(namespace));
  const distinct = new Map<string, Access>();
  for (const list of needs) for (const a of list) distinct.set(key(a), a);
  const answers = new Map<string, { allowed: boolean; reason?: string }>();
  await Promise.all([...distinct].map(async ([k, a]) => answers.set(k, await allowed(kube, a))));

  const actions = ACTIONS.map((spec, i): FleetCapability => {
    const cap: FleetCapability = { action: spec.action, label: spec.label, enabled: false };
    if (spec.unsupported) return { ...cap, reason: spec.unsupported };
    if (spec.controller && cp.kind !== spec.controller)
      return { ...cap, reason: CONTROLLER_NEEDED[spec.controller] };
    if (spec.resource && !served[spec.resource])
      return {
        ...cap,
        reason: `The cluster does not serve ${spec.resource}.${OPENYURT_GROUP}: install EdgeFleet or OpenYurt first.`,
      };
    const denied = (needs[i] ?? []).filter((a) => !answers.get(key(a))?.allowed);
    if (denied.length) {
      const missing: RbacRule[] = denied.map(ruleFor);
      const what = denied.map((a) => `${a.verb} ${resourceLabel(a)} ${where(a)}`).join(', ');
      return {
        ...cap,
        reason: `Your account may not ${what}. An admin can allow it with ${missing.map(describeRule).join('; and ')}.`,
        missing,
      };
    }
    cap.enabled = true;
    if (spec.resource && cp.kind === 'none')
      cap.reason = 'No controller runs here: the change is stored but nothing reconciles it.';
    return cap;
  });
  const out: FleetCapabilities = {
    clusterId,
    checkedAt: new Date().toISOString(),
    controlPlane: cp,
    served: {
      ...(served.nodepools ? { nodePools: `${OPENYURT_GROUP}/${served.nodepools}` } : {}),
      ...(served.yurtappsets ? { yurtAppSets: `${OPENYURT_GROUP}/${served.yurtappsets}` } : {}),
    },
    actions,
  };
  if (user) out.user = user;
  return out;
}
