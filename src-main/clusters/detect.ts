/**
 * Which edge control plane a cluster runs, recognised from data we already watch: the
 * apps.openyurt.io resources (served or not) and controller leader-election Leases.
 */
import type { ClusterFlavor, ResourceState } from '../ipc/types.ts';

/** A Lease as main keeps it: who holds it and when it was last renewed. Never sent over IPC. */
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

/**
 * Leader-election Lease names. TODO(lead): EdgeFleet's controller must use `edgefleet-controller`
 * as its Lease name; this constant belongs in src-agent/api once the controller lands.
 */
export const EDGEFLEET_CONTROLLER_LEASES = ['edgefleet-controller'];
/** Stock OpenYurt's yurt-manager (and the older split controllers). */
export const OPENYURT_CONTROLLER_LEASES = [
  'yurt-manager',
  'cloud-yurt-manager',
  'yurt-controller-manager',
  'yurt-app-manager',
];

export interface DetectInput {
  leases: Iterable<LeaseInfo>;
  leasesState: ResourceState;
  nodePoolsState: ResourceState;
  yurtAppSetsState: ResourceState;
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
  let ours: LeaseInfo | undefined;
  let theirs: LeaseInfo | undefined;
  for (const l of input.leases) {
    if (!ours && EDGEFLEET_CONTROLLER_LEASES.includes(l.name)) ours = l;
    if (!theirs && OPENYURT_CONTROLLER_LEASES.includes(l.name)) theirs = l;
  }
  const controller = (l: LeaseInfo) => {
    const c: NonNullable<ClusterFlavor['controller']> = { namespace: l.namespace ?? '', name: l.name };
    if (l.holder) c.holder = l.holder;
    if (l.renewTime) c.renewedAt = l.renewTime;
    return c;
  };
  const viewing = ['view nodes, pods, services and events'];
  if (ours) {
    return {
      kind: 'edgefleet',
      ...base,
      controller: controller(ours),
      capabilities: [
        ...viewing,
        'manage node pools',
        'roll out YurtAppSets pool by pool',
        'set node autonomy',
        'convert, join, revert and upgrade nodes',
      ],
      explanation: 'The EdgeFleet controller runs in this cluster.',
    };
  }
  if (theirs) {
    return {
      kind: 'openyurt',
      ...base,
      controller: controller(theirs),
      capabilities: [
        ...viewing,
        'manage node pools',
        'manage YurtAppSets',
        'set node autonomy',
        'convert nodes with the EdgeFleet hub (drop-in for yurthub)',
      ],
      explanation:
        'Stock OpenYurt (yurt-manager) runs in this cluster; EdgeFleet manages its pools and apps through the same API.',
    };
  }
  if (input.leasesState.status === 'forbidden') {
    return {
      kind: 'unknown',
      ...base,
      capabilities: viewing,
      explanation: 'Cannot tell which controller runs: this user may not read Leases.',
    };
  }
  if (nodePools) {
    return {
      kind: 'none',
      ...base,
      capabilities: [
        ...viewing,
        'edit node pools (nothing will reconcile them)',
        'install the EdgeFleet controller',
      ],
      explanation:
        'OpenYurt CRDs are installed but no controller holds its lease: pools and YurtAppSets are not being reconciled.',
    };
  }
  return {
    kind: 'none',
    ...base,
    capabilities: [...viewing, 'install EdgeFleet (CRDs + controller)', 'convert nodes'],
    explanation: 'Plain Kubernetes: neither EdgeFleet nor OpenYurt is installed.',
  };
}
