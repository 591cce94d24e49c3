/**
 * Records core/v1 Events on the objects a reconciler acts on, so `kubectl describe` explains what
 * the controller did. Repeats of the same event within a short window are folded into a count.
 */
import { type KubeClient, type KubeObject, RESOURCES } from '../api/kube-client.ts';

export type EventType = 'Normal' | 'Warning';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  metadata: KubeObject['metadata'];
}

export class EventRecorder {
  private readonly client: KubeClient;
  private readonly component: string;
  private readonly onError: (e: unknown) => void;
  private readonly recent = new Map<string, { name: string; namespace: string; count: number; at: number }>();

  constructor(client: KubeClient, component: string, onError: (e: unknown) => void) {
    this.client = client;
    this.component = component;
    this.onError = onError;
  }

  /** Fire and forget: an event that cannot be written must never fail a reconcile. */
  record(obj: EventTarget, type: EventType, reason: string, message: string): void {
    this.write(obj, type, reason, message).catch(this.onError);
  }

  private async write(obj: EventTarget, type: EventType, reason: string, message: string): Promise<void> {
    // Cluster-scoped objects get their events in "default", as kubectl describe looks there.
    const namespace = obj.metadata.namespace ?? 'default';
    const now = new Date().toISOString();
    const dedupKey = `${obj.kind}/${namespace}/${obj.metadata.name}/${reason}/${message}`;
    const prev = this.recent.get(dedupKey);
    if (prev && Date.now() - prev.at < 10 * 60_000) {
      prev.count++;
      prev.at = Date.now();
      try {
        await this.client.patch(
          RESOURCES.events,
          prev.name,
          { count: prev.count, lastTimestamp: now },
          { namespace },
        );
        return;
      } catch {
        this.recent.delete(dedupKey); // the event expired or was deleted: write a new one
      }
    }
    const name = `${obj.metadata.name}.${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`;
    await this.client.create(
      RESOURCES.events,
      {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject: {
          apiVersion: obj.apiVersion,
          kind: obj.kind,
          name: obj.metadata.name,
          namespace: obj.metadata.namespace,
          uid: obj.metadata.uid,
          resourceVersion: obj.metadata.resourceVersion,
        },
        reason,
        message,
        type,
        source: { component: this.component },
        reportingComponent: this.component,
        reportingInstance: process.env.HOSTNAME ?? 'edgefleet-controller',
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      } as KubeObject,
      namespace,
    );
    if (this.recent.size > 5000) this.recent.clear();
    this.recent.set(dedupKey, { name, namespace, count: 1, at: Date.now() });
  }
}
