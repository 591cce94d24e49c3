/** The resources the app watches, where the API serves them, and how each is reduced for the wire. */
import { NODEPOOL_RESOURCE } from '../../src-agent/api/nodepool.ts';
import { YURTAPPSET_RESOURCE } from '../../src-agent/api/yurtappset.ts';
import type { ResourceKind } from '../ipc/types.ts';

const NP = `/apis/${NODEPOOL_RESOURCE.group}`;
const YAS = `/apis/${YURTAPPSET_RESOURCE.group}`;
const LEASES = '/apis/coordination.k8s.io/v1';
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

/**
 * What main watches: every kind that crosses IPC, plus two Lease watches that stay in main —
 * node Leases (folded into heartbeats) and the other Leases (controllers' leader election,
 * for the flavor). Split by namespace so a node's renewal never wakes the flavor logic.
 */
export type WatchId = ResourceKind | 'nodeleases' | 'leases';

export interface ResourceDef {
  kind: WatchId;
  /** Path prefix of the collection, e.g. `/api/v1/pods`. */
  path: string;
  fieldSelector?: string;
}

export const RESOURCES: readonly ResourceDef[] = [
  { kind: 'nodes', path: '/api/v1/nodes' },
  // Objects are typed NodePool / YurtAppSet from src-agent/api. Older OpenYurt serves only older versions: FALLBACK_PATHS.
  { kind: 'nodepools', path: `${NP}/${NODEPOOL_RESOURCE.version}/${NODEPOOL_RESOURCE.plural}` },
  { kind: 'yurtappsets', path: `${YAS}/${YURTAPPSET_RESOURCE.version}/${YURTAPPSET_RESOURCE.plural}` },
  { kind: 'pods', path: '/api/v1/pods' },
  { kind: 'services', path: '/api/v1/services' },
  { kind: 'endpointslices', path: '/apis/discovery.k8s.io/v1/endpointslices' },
  // core/v1 rather than events.k8s.io/v1: every server serves it, its `type` field selector is
  // documented, and it shows both old-style writers (count) and new-style ones (series).
  // Warnings only: Normal events are most of the volume and say nothing is wrong.
  { kind: 'events', path: '/api/v1/events', fieldSelector: 'type=Warning' },
  { kind: 'nodeleases', path: `${LEASES}/namespaces/${NODE_LEASE_NAMESPACE}/leases` },
  { kind: 'leases', path: `${LEASES}/leases`, fieldSelector: `metadata.namespace!=${NODE_LEASE_NAMESPACE}` },
];

/** Older versions to try when the preferred one is not served (404). */
export const FALLBACK_PATHS: Partial<Record<WatchId, string[]>> = {
  nodepools: [`${NP}/v1beta1/nodepools`, `${NP}/v1alpha1/nodepools`],
  yurtappsets: [`${YAS}/v1alpha1/yurtappsets`],
};
