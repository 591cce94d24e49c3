/** Autonomy controller: keeps pods' eviction tolerations in line with their node's autonomy. */
import { type KubeClient, objectKey, RESOURCES, retryOnConflict, splitKey } from '../../api/kube-client.ts';
import type { EventRecorder } from '../events.ts';
import type { Informer } from '../informer.ts';
import type { Node, Pod } from '../kube-types.ts';
import type { Metrics } from '../metrics.ts';
import { ControllerRunner, type Log } from '../runner.ts';
import { autonomySeconds, planPod } from './plan.ts';

export class AutonomyController {
  readonly runner: ControllerRunner;
  private readonly client: KubeClient;
  private readonly nodes: Informer<Node>;
  private readonly pods: Informer<Pod>;
  private readonly events: EventRecorder;
  /** node name → pod keys, so a node's annotation change finds its pods without a scan. */
  private readonly byNode = new Map<string, Set<string>>();

  constructor(
    client: KubeClient,
    nodes: Informer<Node>,
    pods: Informer<Pod>,
    events: EventRecorder,
    metrics: Metrics,
    log: Log,
  ) {
    this.client = client;
    this.nodes = nodes;
    this.pods = pods;
    this.events = events;
    this.runner = new ControllerRunner('autonomy', (k) => this.reconcile(k), metrics, log);
    pods.on((type, pod, old) => {
      const key = objectKey(pod);
      const oldNode = old?.spec?.nodeName;
      if (oldNode && oldNode !== pod.spec?.nodeName) this.byNode.get(oldNode)?.delete(key);
      const n = pod.spec?.nodeName;
      if (n) {
        if (type === 'delete') this.byNode.get(n)?.delete(key);
        else {
          let set = this.byNode.get(n);
          if (!set) {
            set = new Set();
            this.byNode.set(n, set);
          }
          set.add(key);
        }
      }
      if (type !== 'delete') this.runner.queue.add(key);
    });
    nodes.on((_type, node, old) => {
      if (old && autonomySeconds(old) === autonomySeconds(node)) return;
      for (const key of this.byNode.get(node.metadata.name) ?? []) this.runner.queue.add(key);
    });
  }

  private async reconcile(key: string) {
    let pod = this.pods.get(key);
    if (!pod) return undefined;
    const { namespace, name } = splitKey(key);
    let first = true;
    await retryOnConflict(async () => {
      if (!first) pod = await this.client.getOrUndefined<Pod>(RESOURCES.pods, name, namespace);
      first = false;
      if (!pod) return;
      const node = pod.spec?.nodeName ? this.nodes.get(pod.spec.nodeName) : undefined;
      const plan = planPod(pod, node);
      if (!plan) return;
      await this.client.patch(RESOURCES.pods, name, plan.patch, { namespace });
      this.events.record(
        { ...pod, apiVersion: 'v1', kind: 'Pod' },
        'Normal',
        'AutonomyTolerations',
        plan.summary,
      );
    });
    return undefined;
  }
}
