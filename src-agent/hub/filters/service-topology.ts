import {
  ANNOTATION_TOPOLOGY_KEYS,
  TOPOLOGY_KEY_HOSTNAME,
  TOPOLOGY_KEY_NODEPOOL,
  TOPOLOGY_KEY_ZONE,
} from '../../api/labels.ts';
import type { ResourceKey } from '../storage.ts';
import type { PoolView } from './pool-view.ts';
import { isCore, type KubeObj, type ResponseFilter } from './types.ts';

/** The EndpointSlice label naming its Service. */
const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';

/** Looks up a Service's annotations (from the hub's Service watch). */
export type ServiceAnnotations = (namespace: string, name: string) => Record<string, string> | undefined;

interface SliceEndpoint {
  nodeName?: string;
  zone?: string;
  [k: string]: unknown;
}
interface EndpointAddress {
  nodeName?: string;
  [k: string]: unknown;
}
interface Subset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  [k: string]: unknown;
}

/**
 * Service topology: EndpointSlices and Endpoints keep only endpoints on this node
 * (`kubernetes.io/hostname`) or this node's pool (`openyurt.io/nodepool`, `kubernetes.io/zone` as in
 * OpenYurt), per the Service's `openyurt.io/topologyKeys`. When nothing would remain, or the pool is not
 * known, the object is left as it is (OpenYurt's behaviour: better cross-pool traffic than none).
 */
export class ServiceTopologyFilter implements ResponseFilter {
  readonly name = 'servicetopology' as const;
  private readonly pools: PoolView;
  private readonly services: ServiceAnnotations;

  constructor(pools: PoolView, services: ServiceAnnotations) {
    this.pools = pools;
    this.services = services;
  }

  handles(r: ResourceKey): boolean {
    return (r.group === 'discovery.k8s.io' && r.resource === 'endpointslices') || isCore(r, 'endpoints');
  }

  filter(obj: KubeObj): KubeObj | undefined {
    const ns = obj.metadata?.namespace ?? '';
    const svcName =
      obj.kind === 'Endpoints' || (obj.kind === undefined && Array.isArray(obj.subsets))
        ? obj.metadata?.name
        : obj.metadata?.labels?.[LABEL_SERVICE_NAME];
    if (!svcName) return obj;
    const keep = this.allowedNodes(this.services(ns, svcName)?.[ANNOTATION_TOPOLOGY_KEYS]);
    if (!keep) return obj;
    const onKept = (e: { nodeName?: string }) => e.nodeName !== undefined && keep.has(e.nodeName);
    if (Array.isArray(obj.endpoints)) {
      const eps = (obj.endpoints as SliceEndpoint[]).filter(onKept);
      return eps.length === 0 ? obj : { ...obj, endpoints: eps };
    }
    if (Array.isArray(obj.subsets)) {
      const subsets = (obj.subsets as Subset[])
        .map((s) => ({
          ...s,
          addresses: s.addresses?.filter(onKept),
          notReadyAddresses: s.notReadyAddresses?.filter(onKept),
        }))
        .filter((s) => (s.addresses?.length ?? 0) + (s.notReadyAddresses?.length ?? 0) > 0);
      return subsets.length === 0 ? obj : { ...obj, subsets };
    }
    return obj;
  }

  /** The node names endpoints may sit on, or undefined for "do not filter". */
  private allowedNodes(keys: string | undefined): ReadonlySet<string> | undefined {
    if (!keys) return undefined;
    const list = keys.split(',').map((k) => k.trim());
    if (list.includes(TOPOLOGY_KEY_HOSTNAME)) return new Set([this.pools.nodeName]);
    if (list.includes(TOPOLOGY_KEY_NODEPOOL) || list.includes(TOPOLOGY_KEY_ZONE))
      return this.pools.poolMates();
    return undefined;
  }
}
