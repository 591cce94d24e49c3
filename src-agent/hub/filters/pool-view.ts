/**
 * What the filters need to know about node pools: this node's pool and the nodes of that pool.
 * Fed by the NodePool watch (status.nodes) and this node's own `apps.openyurt.io/nodepool` label;
 * listeners hear about membership changes so open watches can be re-filtered.
 */
export class PoolView {
  readonly nodeName: string;
  private ownLabelPool: string | undefined;
  private readonly poolNodes = new Map<string, Set<string>>();
  private readonly listeners = new Set<() => void>();

  constructor(nodeName: string) {
    this.nodeName = nodeName;
  }

  /** This node's pool: its label wins (set by the nodepool controller), else the pool listing it. */
  ownPool(): string | undefined {
    if (this.ownLabelPool) return this.ownLabelPool;
    for (const [pool, nodes] of this.poolNodes) if (nodes.has(this.nodeName)) return pool;
    return undefined;
  }

  /** Nodes sharing this node's pool (always including this node); undefined when the pool is unknown. */
  poolMates(): ReadonlySet<string> | undefined {
    const pool = this.ownPool();
    if (!pool) return undefined;
    const mates = new Set(this.poolNodes.get(pool) ?? []);
    mates.add(this.nodeName);
    return mates;
  }

  setOwnLabel(pool: string | undefined): void {
    if (pool === this.ownLabelPool) return;
    this.ownLabelPool = pool || undefined;
    this.changed();
  }

  setPool(pool: string, nodes: readonly string[] | undefined): void {
    const next = new Set(nodes ?? []);
    const prev = this.poolNodes.get(pool);
    if (prev && prev.size === next.size && [...next].every((n) => prev.has(n))) return;
    this.poolNodes.set(pool, next);
    this.changed();
  }

  deletePool(pool: string): void {
    if (this.poolNodes.delete(pool)) this.changed();
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed(): void {
    for (const fn of [...this.listeners]) fn();
  }
}
