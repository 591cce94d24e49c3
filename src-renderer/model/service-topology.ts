/**
 * Where a Service's traffic stays and where its endpoints are, as OpenYurt's service topology
 * filter scopes it (`openyurt.io/topologyKeys`): per pool, the endpoints a client in that pool
 * is given. With `openyurt.io/nodepool` a client sees only its own pool's endpoints, so a pool
 * without one has no local endpoint; with `kubernetes.io/hostname` only its own node's.
 */
import {
  TOPOLOGY_KEY_HOSTNAME,
  TOPOLOGY_KEY_NODEPOOL,
  TOPOLOGY_KEY_ZONE,
} from '../../src-main/ipc/edge-api.ts';
import { type FleetData, poolOfNode } from '../store/fleet-data.ts';

export type TopologyScope = 'pool' | 'node' | 'zone' | 'cluster';

export interface PoolEndpoints {
  pool: string;
  ready: number;
  total: number;
  /** Nodes of this pool that host an endpoint. */
  nodes: string[];
}

export interface ServiceTopology {
  scope: TopologyScope;
  pools: PoolEndpoints[];
  /** Every node with an endpoint of the Service. */
  endpointNodes: Set<string>;
}

export function scopeOf(topologyKeys: string | undefined): TopologyScope {
  const keys = (topologyKeys ?? '').split(',').map((k) => k.trim());
  if (keys.includes(TOPOLOGY_KEY_HOSTNAME)) return 'node';
  if (keys.includes(TOPOLOGY_KEY_NODEPOOL)) return 'pool';
  if (keys.includes(TOPOLOGY_KEY_ZONE)) return 'zone';
  return 'cluster';
}

export const SCOPE_TEXT: Record<TopologyScope, string> = {
  pool: 'traffic stays in each client’s pool',
  node: 'traffic stays on each client’s node',
  zone: 'traffic stays in each client’s zone',
  cluster: 'no topology: traffic goes to any endpoint',
};

export function serviceTopology(fleet: FleetData, serviceKey: string): ServiceTopology {
  const svc = fleet.get('services', serviceKey);
  const byPool = new Map<string, PoolEndpoints>();
  const endpointNodes = new Set<string>();
  for (const sliceKey of fleet.slicesByService.get(serviceKey) ?? []) {
    for (const ep of fleet.get('endpointslices', sliceKey)?.endpoints ?? []) {
      const node = ep.node ? fleet.get('nodes', ep.node) : undefined;
      const pool = node ? poolOfNode(node) || '(no pool)' : '(unknown node)';
      const row = byPool.get(pool) ?? { pool, ready: 0, total: 0, nodes: [] };
      row.total++;
      if (ep.ready) row.ready++;
      if (ep.node && !row.nodes.includes(ep.node)) row.nodes.push(ep.node);
      if (ep.node) endpointNodes.add(ep.node);
      byPool.set(pool, row);
    }
  }
  // Pools with clients but no endpoint matter as much: under pool scope they get none.
  for (const pool of fleet.poolNames())
    if (!byPool.has(pool)) byPool.set(pool, { pool, ready: 0, total: 0, nodes: [] });
  return {
    scope: scopeOf(svc?.topologyKeys),
    pools: [...byPool.values()].sort((a, b) => a.pool.localeCompare(b.pool)),
    endpointNodes,
  };
}
