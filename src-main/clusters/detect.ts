/**
 * Which edge control plane a cluster runs. The live view recognises it from data it already
 * watches (controller leader-election Leases and whether apps.openyurt.io is served); the fleet's
 * capability check adds what a Lease cannot show: a yurt-manager running without leader election
 * is still seen by its Deployment or its webhook configurations.
 *
 * What the user may *change* is not decided here: that needs RBAC answers
 * (src-main/fleet/capabilities.ts, IPC `fleet:capabilities`), so the flavor lists viewing only.
 */
import type { ClusterFlavor, ResourceState, WireObject } from '../ipc/types.ts';

/** EdgeFleet's controller: its leader-election Lease, Deployment and webhook configuration name. */
export const EDGEFLEET_CONTROLLER_LEASES = ['edgefleet-controller'];
export const EDGEFLEET_CONTROLLER_NAME = 'edgefleet-controller';
/** Stock OpenYurt's yurt-manager (and the older split controllers). */
export const OPENYURT_CONTROLLER_LEASES = [
  'yurt-manager',
  'cloud-yurt-manager',
  'yurt-controller-manager',
  'yurt-app-manager',
];
export const OPENYURT_DEPLOYMENTS = ['yurt-manager', 'yurt-controller-manager', 'yurt-app-manager'];
/** yurt-manager's webhook configurations are named `yurt-manager-{mutating,validating}-webhook-configuration`. */
const OPENYURT_WEBHOOK = /^yurt-(manager|app-manager)(-|$)/;

export interface ControlPlaneEvidence {
  leases: Iterable<LeaseInfo>;
  deployments?: Iterable<WireObject>;
  webhookConfigurations?: Iterable<WireObject>;
}

export interface RecognisedControlPlane {
  kind: 'edgefleet' | 'openyurt' | undefined;
  /** The controller's Lease, when one is held. */
  lease?: LeaseInfo;
  /** What we saw, e.g. "Deployment kube-system/yurt-manager". */
  evidence: string[];
}

const named = (kind: string, o: { name: string; namespace?: string | undefined }) =>
  `${kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;
const id = (kind: string, o: WireObject) => named(kind, o.metadata);

export function recogniseControlPlane(e: ControlPlaneEvidence): RecognisedControlPlane {
  const ours: string[] = [];
  const theirs: string[] = [];
  let ourLease: LeaseInfo | undefined;
  let theirLease: LeaseInfo | undefined;
  for (const l of e.leases) {
    if (EDGEFLEET_CONTROLLER_LEASES.includes(l.name)) {
      ourLease ??= l;
      ours.push(named('Lease', l));
    }
    if (OPENYURT_CONTROLLER_LEASES.includes(l.name)) {
      theirLease ??= l;
      theirs.push(named('Lease', l));
    }
  }
  for (const d of e.deployments ?? []) {
    if (d.metadata.name === EDGEFLEET_CONTROLLER_NAME) ours.push(id('Deployment', d));
    if (OPENYURT_DEPLOYMENTS.includes(d.metadata.name)) theirs.push(id('Deployment', d));
  }
  for (const w of e.webhookConfigurations ?? []) {
    if (w.metadata.name === EDGEFLEET_CONTROLLER_NAME) ours.push(id(w.kind ?? 'WebhookConfiguration', w));
    if (OPENYURT_WEBHOOK.test(w.metadata.name)) theirs.push(id(w.kind ?? 'WebhookConfiguration', w));
  }
  if (ours.length) return { kind: 'edgefleet', ...(ourLease ? { lease: ourLease } : {}), evidence: ours };
  if (theirs.length)
    return { kind: 'openyurt', ...(theirLease ? { lease: theirLease } : {}), evidence: theirs };
  return { kind: undefined, evidence: [] };
}

export const EXPLANATIONS = {
  edgefleet: 'The EdgeFleet controller runs in this cluster.',
  openyurt:
    'Stock OpenYurt (yurt-manager) runs in this cluster; EdgeFleet manages its pools and apps through the same API.',
  crdsOnly:
    'OpenYurt CRDs are installed but no controller was found: pools and YurtAppSets are not being reconciled.',
  plain: 'Plain Kubernetes: neither EdgeFleet nor OpenYurt is installed.',
  leasesForbidden: 'Cannot tell which controller runs: this user may not read Leases.',
} as const;

export interface DetectInput {
  leases: Iterable<LeaseInfo>;
  leasesState: ResourceState;
  nodePoolsState: ResourceState;
  yurtAppSetsState: ResourceState;
}

/** A Lease as the live view keeps it: who holds it and when it was last renewed. Never sent over IPC. */
export interface LeaseInfo {
  name: string;
  namespace?: string;
  holder?: string;
  renewTime?: string;
}

export function reduceLease(o: Record<string, unknown>): LeaseInfo {
  const m = (o.metadata ?? {}) as { name?: string; namespace?: string };
  const spec = (o.spec ?? {}) as { holderIdentity?: string; renewTime?: string };
  const l: LeaseInfo = { name: m.name ?? '' };
  if (m.namespace) l.namespace = m.namespace;
  if (spec.holderIdentity) l.holder = spec.holderIdentity;
  if (spec.renewTime) l.renewTime = spec.renewTime;
  return l;
}

function served(s: ResourceState): boolean {
  return s.status === 'synced' || s.status === 'forbidden';
}

export function detectFlavor(input: DetectInput): ClusterFlavor {
  const nodePools = served(input.nodePoolsState);
  const yurtAppSets = served(input.yurtAppSetsState);
  const base = { nodePools, yurtAppSets };
  if (input.nodePoolsState.status === 'syncing' || input.leasesState.status === 'syncing') {
    return { kind: 'unknown', ...base, capabilities: [], explanation: 'Still reading the cluster.' };
  }
  // Viewing is what the watches prove; changes are listed by `fleet:capabilities` (RBAC-checked).
  const capabilities = ['view nodes, pods, services and events'];
  const found = recogniseControlPlane({ leases: input.leases });
  if (found.kind) {
    const flavor: ClusterFlavor = {
      kind: found.kind,
      ...base,
      capabilities,
      explanation: EXPLANATIONS[found.kind],
    };
    if (found.lease) flavor.controller = controllerOf(found.lease);
    return flavor;
  }
  if (input.leasesState.status === 'forbidden')
    return { kind: 'unknown', ...base, capabilities, explanation: EXPLANATIONS.leasesForbidden };
  return {
    kind: 'none',
    ...base,
    capabilities,
    explanation: nodePools ? EXPLANATIONS.crdsOnly : EXPLANATIONS.plain,
  };
}

function controllerOf(l: LeaseInfo): NonNullable<ClusterFlavor['controller']> {
  const c: NonNullable<ClusterFlavor['controller']> = { namespace: l.namespace ?? '', name: l.name };
  if (l.holder) c.holder = l.holder;
  if (l.renewTime) c.renewedAt = l.renewTime;
  return c;
}
