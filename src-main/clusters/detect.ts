/**
 * Which edge control plane a cluster runs, recognised from data we already watch: the
 * apps.openyurt.io resources (served or not) and controller leader-election Leases.
 */
import type { ClusterFlavor, ResourceState, WireObject } from '../ipc/types.ts';

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
  leases: Iterable<WireObject>;
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
  let ours: WireObject | undefined;
  let theirs: WireObject | undefined;
  for (const l of input.leases) {
    if (!ours && EDGEFLEET_CONTROLLER_LEASES.includes(l.metadata.name)) ours = l;
    if (!theirs && OPENYURT_CONTROLLER_LEASES.includes(l.metadata.name)) theirs = l;
  }
  const controller = (l: WireObject) => {
    const spec = (l.spec ?? {}) as { holderIdentity?: string; renewTime?: string };
    const c: NonNullable<ClusterFlavor['controller']> = {
      namespace: l.metadata.namespace ?? '',
      name: l.metadata.name,
    };
    if (spec.holderIdentity) c.holder = spec.holderIdentity;
    if (spec.renewTime) c.renewedAt = spec.renewTime;
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
