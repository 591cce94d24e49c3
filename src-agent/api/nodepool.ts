/**
 * NodePool (apps.openyurt.io), field names exactly as OpenYurt's so manifests move between clusters.
 * v1beta2 is stored; v1beta1 is still served (its `selector` is deprecated and not acted on).
 */
import type { KubeObject, ResourceRef } from './kube-client.ts';
import { OPENYURT_GROUP } from './labels.ts';

export const NODEPOOL_VERSION = 'v1beta2';
export const NODEPOOL_RESOURCE = {
  group: OPENYURT_GROUP,
  version: NODEPOOL_VERSION,
  plural: 'nodepools',
  kind: 'NodePool',
  namespaced: false,
} as const satisfies ResourceRef;

export type NodePoolType = 'Edge' | 'Cloud';

export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  timeAdded?: string;
}

export interface NodePoolSpec {
  type?: NodePoolType;
  hostNetwork?: boolean;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  taints?: Taint[];
  interConnectivity?: boolean;
  leaderElectionStrategy?: 'mark' | 'random' | string;
  leaderNodeLabelSelector?: Record<string, string>;
  enableLeaderElection?: boolean;
  poolScopeMetadata?: { group: string; version: string; resource: string }[];
  leaderReplicas?: number;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface NodePoolStatus {
  readyNodeNum?: number;
  unreadyNodeNum?: number;
  nodes?: string[];
  leaderEndpoints?: { nodeName: string; address: string }[];
  leaderNum?: number;
  leaderLastElectedTime?: string;
  conditions?: Condition[];
}

export interface NodePool extends KubeObject {
  spec?: NodePoolSpec;
  status?: NodePoolStatus;
}

/** Our finalizer: a pool that still has member nodes is not deleted (see the nodepool reconciler). */
export const FINALIZER_NODEPOOL_MEMBERS = 'nodepool.edgefleet.io/members';
/** NodePool condition we set while deletion waits for members to leave. */
export const CONDITION_NODEPOOL_DELETION_BLOCKED = 'DeletionBlocked';
/**
 * Node annotation: what the nodepool controller applied to this node (and the foreign values it
 * replaced), so leaving a pool removes exactly ours and restores theirs.
 */
export const ANNOTATION_NODEPOOL_APPLIED = 'nodepool.edgefleet.io/applied';
