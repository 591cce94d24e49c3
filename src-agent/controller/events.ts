/**
 * Records core/v1 Events on the objects a reconciler acts on, so `kubectl describe` explains what
 * the controller did. Repeats of the same event within a short window are folded into a count.
 *
 * Writes go out in the background, a few at a time, from a bounded backlog (as client-go's event
 * broadcaster does): a burst — one event per node when 5,000 nodes join their pools — must not
 * fill the client's connection pool and make the reconcilers' own writes queue behind it. When
 * the backlog is full new events are dropped and reported; events are explanations, not state.
 */
import { type KubeClient, type KubeObject, RESOURCES } from '../api/kube-client.ts';

export type EventType = 'Normal' | 'Warning';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  metadata: KubeObject['metadata'];
}

/** Event writes in flight at once, and events waiting beyond those. */
const EVENT_WRITERS = 2;
const EVENT_BACKLOG = 1000;

interface PendingEvent {
  obj: EventTarget;
  type: EventType;
  reason: string;
  message: string;
  /** When it happened (the write may come later). */
  at: string;
}

export class EventRecorder {
  private readonly client: KubeClient;
  private readonly component: string;
  private readonly onError: (e: unknown) => void;
  private readonly recent = new Map<string, { name: string; namespace: string; count: number; at: number }>();
  private readonly backlog: PendingEvent[] = [];
  private writers = 0;
  /** Events dropped because the backlog was full. */
  dropped = 0;

  constructor(client: KubeClient, component: string, onError: (e: unknown) => void) {
    this.client = client;
    this.component = component;
    this.onError = onError;
  }

  /** Fire and forget: an event that cannot be written must never fail a reconcile. */
  record(obj: EventTarget, type: EventType, reason: string, message: string): void {
    if (this.backlog.length >= EVENT_BACKLOG) {
      // One report per thousand keeps a long burst from flooding the log as well.
      if (this.dropped++ % 1000 === 0) {
        this.onError(new Error(`event backlog full (${EVENT_BACKLOG}): dropped ${this.dropped} so far`));
      }
      return;
    }
    this.backlog.push({ obj, type, reason, message, at: new Date().toISOString() });
    if (this.writers < EVENT_WRITERS) void this.drain();
  }

  private async drain(): Promise<void> {
    this.writers++;
    try {
      for (let e = this.backlog.shift(); e; e = this.backlog.shift()) {
        await this.write(e).catch(this.onError);
      }
    } finally {
      this.writers--;
    }
  }

  private async write({ obj, type, reason, message, at: now }: PendingEvent): Promise<void> {
    // Cluster-scoped objects get their events in "default", as kubectl describe looks there.
    const namespace = obj.metadata.namespace ?? 'default';
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
