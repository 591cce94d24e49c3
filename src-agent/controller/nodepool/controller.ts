/**
 * NodePool controller: two queues over the same caches. Node keys apply the node's pool settings
 * (and remove a former pool's); pool keys maintain the finalizer, type label and status.
 */
import { type KubeClient, RESOURCES, retryOnConflict } from '../../api/kube-client.ts';
import { LABEL_NODEPOOL } from '../../api/labels.ts';
import { CONDITION_NODEPOOL_DELETION_BLOCKED, NODEPOOL_RESOURCE, type NodePool } from '../../api/nodepool.ts';
import type { EventRecorder } from '../events.ts';
import type { Informer } from '../informer.ts';
import type { Node } from '../kube-types.ts';
import type { Metrics } from '../metrics.ts';
import { ControllerRunner, type Log } from '../runner.ts';
import {
  deletionBlockedCondition,
  planNode,
  planPoolMeta,
  poolStatus,
  readApplied,
  setCondition,
  statusEqual,
} from './plan.ts';

const poolRef = (p: NodePool) => ({
  ...p,
  apiVersion: `${NODEPOOL_RESOURCE.group}/${NODEPOOL_RESOURCE.version}`,
  kind: 'NodePool',
});
const nodeRef = (n: Node) => ({ ...n, apiVersion: 'v1', kind: 'Node' });

/** Node indexes: by the pool a node is labelled into, and by the pool whose settings it still carries. */
const BY_POOL = 'nodepool';
const BY_APPLIED_POOL = 'nodepool-applied';

export class NodePoolController {
  readonly nodes: ControllerRunner;
  readonly pools: ControllerRunner;
  private readonly client: KubeClient;
  private readonly nodeInformer: Informer<Node>;
  private readonly poolInformer: Informer<NodePool>;
  private readonly events: EventRecorder;

  constructor(
    client: KubeClient,
    nodeInformer: Informer<Node>,
    poolInformer: Informer<NodePool>,
    events: EventRecorder,
    metrics: Metrics,
    log: Log,
  ) {
    this.client = client;
    this.nodeInformer = nodeInformer;
    this.poolInformer = poolInformer;
    this.events = events;
    this.nodes = new ControllerRunner('nodepool-node', (k) => this.reconcileNode(k), metrics, log);
    this.pools = new ControllerRunner('nodepool', (k) => this.reconcilePool(k), metrics, log);

    nodeInformer.addIndexer(BY_POOL, (n) => [n.metadata.labels?.[LABEL_NODEPOOL]]);
    nodeInformer.addIndexer(BY_APPLIED_POOL, (n) => [readApplied(n)?.pool]);

    nodeInformer.on((type, node, old) => {
      this.nodes.queue.add(node.metadata.name);
      for (const n of [node, old]) {
        if (!n) continue;
        const pool = n.metadata.labels?.[LABEL_NODEPOOL];
        if (pool) this.pools.queue.add(pool);
        const applied = readApplied(n)?.pool;
        if (applied) this.pools.queue.add(applied);
      }
      void type;
    });
    poolInformer.on((_type, pool) => {
      const name = pool.metadata.name;
      this.pools.queue.add(name);
      for (const index of [BY_POOL, BY_APPLIED_POOL]) {
        for (const n of this.nodeInformer.byIndex(index, name)) this.nodes.queue.add(n.metadata.name);
      }
    });
  }

  members(pool: string): Node[] {
    return this.nodeInformer.byIndex(BY_POOL, pool);
  }

  private async reconcileNode(name: string) {
    let node = this.nodeInformer.get(name);
    if (!node) return undefined;
    let first = true;
    await retryOnConflict(async () => {
      if (!first) node = await this.client.getOrUndefined<Node>(RESOURCES.nodes, name);
      first = false;
      if (!node) return;
      const poolName = node.metadata.labels?.[LABEL_NODEPOOL];
      const pool = poolName ? this.poolInformer.get(poolName) : undefined;
      const plan = planNode(node, pool);
      if (!plan) return;
      await this.client.patch(RESOURCES.nodes, name, plan.patch);
      this.events.record(
        nodeRef(node),
        'Normal',
        pool ? 'NodePoolApplied' : 'NodePoolRemoved',
        pool
          ? `applied NodePool ${pool.metadata.name}: ${plan.summary}`
          : `removed former NodePool settings: ${plan.summary}`,
      );
    });
    return undefined;
  }

  private async reconcilePool(name: string) {
    const pool = this.poolInformer.get(name);
    if (!pool) return undefined;
    const members = this.members(name);
    const meta = planPoolMeta(pool, members);
    if (meta.patch) {
      await this.client.patch(NODEPOOL_RESOURCE, name, meta.patch);
      if (pool.metadata.deletionTimestamp) {
        this.events.record(
          poolRef(pool),
          'Normal',
          'Deleted',
          `NodePool ${name} has no members left; deleting`,
        );
        return undefined;
      }
    }
    let conditions = (pool.status?.conditions ?? []).filter(
      (c) => c.type !== CONDITION_NODEPOOL_DELETION_BLOCKED,
    );
    if (meta.blocked) {
      conditions = setCondition(pool.status?.conditions, deletionBlockedCondition(meta.blocked));
      const was = pool.status?.conditions?.find((c) => c.type === CONDITION_NODEPOOL_DELETION_BLOCKED);
      if (was?.message !== meta.blocked)
        this.events.record(poolRef(pool), 'Warning', 'DeletionBlocked', meta.blocked);
    }
    const status = poolStatus(members, conditions);
    if (!statusEqual(pool.status, status)) {
      // Status is wholly ours: a plain merge patch of the status subresource, last writer wins.
      await this.client.patch(
        NODEPOOL_RESOURCE,
        name,
        { status: { ...status, conditions: status.conditions ?? null, nodes: status.nodes ?? [] } },
        {
          subresource: 'status',
        },
      );
    }
    return undefined;
  }
}
