/** The resources the app watches, and where the API serves them. */
import { NODEPOOL_RESOURCE } from '../../src-agent/api/nodepool.ts';
import { YURTAPPSET_RESOURCE } from '../../src-agent/api/yurtappset.ts';
import type { ResourceKind } from '../ipc/types.ts';

const NP = `/apis/${NODEPOOL_RESOURCE.group}`;
const YAS = `/apis/${YURTAPPSET_RESOURCE.group}`;

export interface ResourceDef {
  kind: ResourceKind;
  /** Path prefix of the collection across all namespaces, e.g. `/api/v1/pods`. */
  path: string;
}

export const RESOURCES: readonly ResourceDef[] = [
  { kind: 'nodes', path: '/api/v1/nodes' },
  // Objects are typed NodePool / YurtAppSet from src-agent/api. Older OpenYurt serves only older versions: FALLBACK_PATHS.
  { kind: 'nodepools', path: `${NP}/${NODEPOOL_RESOURCE.version}/${NODEPOOL_RESOURCE.plural}` },
  { kind: 'yurtappsets', path: `${YAS}/${YURTAPPSET_RESOURCE.version}/${YURTAPPSET_RESOURCE.plural}` },
  { kind: 'pods', path: '/api/v1/pods' },
  { kind: 'services', path: '/api/v1/services' },
  { kind: 'endpointslices', path: '/apis/discovery.k8s.io/v1/endpointslices' },
  { kind: 'leases', path: '/apis/coordination.k8s.io/v1/leases' },
  { kind: 'events', path: '/api/v1/events' },
];

/** Older versions to try when the preferred one is not served (404). */
export const FALLBACK_PATHS: Partial<Record<ResourceKind, string[]>> = {
  nodepools: [`${NP}/v1beta1/nodepools`, `${NP}/v1alpha1/nodepools`],
  yurtappsets: [`${YAS}/v1alpha1/yurtappsets`],
};
