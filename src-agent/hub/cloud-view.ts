import { ANNOTATION_TOPOLOGY_KEYS, LABEL_NODEPOOL } from '../api/labels.ts';
import type { NodePool } from '../api/nodepool.ts';
import { NODEPOOL_RESOURCE } from '../api/nodepool.ts';
import { CloudInformer, type InformedObject } from './cloud-informer.ts';
import { PoolView } from './filters/pool-view.ts';
import type { Logger } from './log.ts';
import type { Upstream } from './upstream.ts';

interface NodeLike extends InformedObject {
  metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
}

/**
 * What the hub itself watches in the cloud to filter responses and follow its pool: its own Node (pool
 * label, autonomy annotations), NodePools (status.nodes) and Services (topology annotations). The Node
 * watch runs from start; NodePools and Services only once a filter needs them.
 */
export class CloudView {
  readonly pools: PoolView;
  private readonly upstream: Upstream;
  private readonly log: Logger;
  private readonly nodeName: string;
  private node: CloudInformer | undefined;
  private nodePools: CloudInformer | undefined;
  private services: CloudInformer | undefined;
  private topologySignature = '';
  private readonly topologyListeners = new Set<() => void>();
  private readonly nodeListeners = new Set<(n: NodeLike | undefined) => void>();

  constructor(nodeName: string, upstream: Upstream, log: Logger) {
    this.nodeName = nodeName;
    this.pools = new PoolView(nodeName);
    this.upstream = upstream;
    this.log = log;
  }

  ownNode(): NodeLike | undefined {
    return this.node?.store.get(`/${this.nodeName}`) as NodeLike | undefined;
  }

  onNode(fn: (n: NodeLike | undefined) => void): void {
    this.nodeListeners.add(fn);
  }

  /** A Service's topology annotation changed (endpoints must be re-filtered). */
  onTopologyChange(fn: () => void): void {
    this.topologyListeners.add(fn);
  }

  watchOwnNode(): void {
    if (this.node) return;
    this.node = new CloudInformer({
      upstream: this.upstream,
      path: '/api/v1/nodes',
      // The Node authorizer lets a node list only itself, and only with this selector.
      query: { fieldSelector: `metadata.name=${this.nodeName}` },
      log: this.log,
      keep: (o) => {
        const m = (o as NodeLike).metadata;
        return { metadata: { name: m?.name, labels: m?.labels, annotations: m?.annotations } };
      },
      onChange: () => {
        const n = this.ownNode();
        this.pools.setOwnLabel(n?.metadata?.labels?.[LABEL_NODEPOOL]);
        for (const fn of this.nodeListeners) fn(n);
      },
    });
    this.node.start();
  }

  /** Starts the watches the response filters need; resolves once synced or after `timeoutMs`. */
  async forFilters(timeoutMs: number): Promise<void> {
    this.watchOwnNode();
    if (!this.nodePools) {
      const r = NODEPOOL_RESOURCE;
      this.nodePools = new CloudInformer({
        upstream: this.upstream,
        path: `/apis/${r.group}/${r.version}/${r.plural}`,
        log: this.log,
        keep: (o) => ({
          metadata: { name: o.metadata?.name },
          status: { nodes: (o as NodePool).status?.nodes },
        }),
        onChange: (store) => {
          const seen = new Set<string>();
          for (const np of store.values() as Iterable<NodePool>) {
            const name = np.metadata?.name;
            if (!name) continue;
            seen.add(name);
            this.pools.setPool(name, np.status?.nodes);
          }
          for (const old of this.knownPools) if (!seen.has(old)) this.pools.deletePool(old);
          this.knownPools = seen;
        },
      });
      this.nodePools.start();
    }
    if (!this.services) {
      this.services = new CloudInformer({
        upstream: this.upstream,
        path: '/api/v1/services',
        log: this.log,
        // Only the topology annotation is read (by the service topology filter).
        keep: (o) => {
          const keys = annotations(o)?.[ANNOTATION_TOPOLOGY_KEYS];
          return {
            metadata: {
              namespace: o.metadata?.namespace,
              name: o.metadata?.name,
              ...(keys === undefined ? {} : { annotations: { [ANNOTATION_TOPOLOGY_KEYS]: keys } }),
            },
          };
        },
        onChange: (store) => {
          const sig = [...store.entries()]
            .map(([k, s]) => `${k}=${annotations(s)?.[ANNOTATION_TOPOLOGY_KEYS] ?? ''}`)
            .filter((x) => !x.endsWith('='))
            .sort()
            .join(';');
          if (sig === this.topologySignature) return;
          this.topologySignature = sig;
          for (const fn of this.topologyListeners) fn();
        },
      });
      this.services.start();
    }
    const end = Date.now() + timeoutMs;
    const all = [this.node, this.nodePools, this.services];
    // A watch that fails (CRD not installed, RBAC) is not waited on: its source is simply unknown.
    while (Date.now() < end && !all.every((i) => i?.synced || (i?.lastError ?? '') !== '')) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private knownPools = new Set<string>();

  serviceAnnotations(namespace: string, name: string): Record<string, string> | undefined {
    return annotations(this.services?.store.get(`${namespace}/${name}`));
  }

  stop(): void {
    for (const i of [this.node, this.nodePools, this.services]) i?.stop();
  }
}

function annotations(o: InformedObject | undefined): Record<string, string> | undefined {
  return (o?.metadata as { annotations?: Record<string, string> } | undefined)?.annotations;
}
