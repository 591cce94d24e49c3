import { ANNOTATION_NODEPORT_LISTEN } from '../../api/labels.ts';
import type { ResourceKey } from '../storage.ts';
import type { PoolView } from './pool-view.ts';
import { isCore, type KubeObj, type ResponseFilter } from './types.ts';

/**
 * Whether a NodePort listens in `pool` per `nodeport.openyurt.io/listen` ("pool-a,-pool-b", "*" for all):
 * an explicit "-pool" wins, then "pool" or "*"; a node outside every pool listens only on "*".
 */
export function nodePortListens(annotation: string, pool: string | undefined): boolean {
  const items = annotation
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (pool && items.includes(`-${pool}`)) return false;
  if (pool && items.includes(pool)) return true;
  return items.includes('*');
}

/**
 * NodePort isolation: a NodePort/LoadBalancer Service annotated `nodeport.openyurt.io/listen` is hidden
 * from kube-proxy on nodes whose pool is not listed, so its port is not opened there.
 */
export class NodePortIsolationFilter implements ResponseFilter {
  readonly name = 'nodeportisolation' as const;
  private readonly pools: PoolView;

  constructor(pools: PoolView) {
    this.pools = pools;
  }

  handles(r: ResourceKey): boolean {
    return isCore(r, 'services');
  }

  filter(obj: KubeObj): KubeObj | undefined {
    const listen = obj.metadata?.annotations?.[ANNOTATION_NODEPORT_LISTEN];
    const type = (obj.spec as { type?: string } | undefined)?.type;
    if (listen === undefined || (type !== 'NodePort' && type !== 'LoadBalancer')) return obj;
    return nodePortListens(listen, this.pools.ownPool()) ? obj : undefined;
  }
}
