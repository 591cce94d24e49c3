/**
 * One object's events, every type, on demand: the node page opens them while it is shown. Each
 * open is a list/watch (ResourceWatcher: paging, 410 Gone → re-list, 403 → forbidden) with a
 * field selector on the involved object, so the API server filters and main receives only that
 * object's events. An object has few events, so every change sends the whole list (newest
 * first, at most OBJECT_EVENTS_MAX): the renderer replaces, nothing to merge or reorder.
 */
import { randomBytes } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import type { EventSink, RequestOf } from '../ipc/contract.ts';
import { AppError } from '../ipc/errors.ts';
import type { IpcHandlers } from '../ipc/router.ts';
import { type EventWire, OBJECT_EVENTS_MAX, type ResourceState } from '../ipc/types.ts';
import { EventRing } from './event-ring.ts';
import { reduceEvent } from './reduce.ts';
import { ResourceWatcher, type WatcherOptions } from './resource-watcher.ts';

/** Views open one or two at a time; a renderer that leaks opens hits this instead of the API server. */
export const MAX_OBJECT_WATCHES = 16;

type Target = RequestOf<'events:watchObject'>;

export interface ObjectEventsOptions {
  kubeConfigFor: (clusterId: string) => Promise<KubeConfig>;
  emit: EventSink;
  redact?: (text: string) => string;
  watcher?: WatcherOptions;
  now?: () => number;
}

interface Open {
  target: Target;
  watcher: ResourceWatcher<EventWire>;
  ring: EventRing;
  state: () => ResourceState;
}

/** The field selector that makes the API server send only this object's events. */
export function involvedSelector(t: Pick<Target, 'kind' | 'namespace' | 'name'>): string {
  const parts = [`involvedObject.kind=${t.kind}`, `involvedObject.name=${t.name}`];
  if (t.namespace) parts.push(`involvedObject.namespace=${t.namespace}`);
  return parts.join(',');
}

export class ObjectEventsService {
  private readonly opts: ObjectEventsOptions;
  private readonly open = new Map<string, Open>();
  private readonly redact: (t: string) => string;

  constructor(options: ObjectEventsOptions) {
    this.opts = options;
    this.redact = options.redact ?? ((t) => t);
  }

  /** Open watches (for tests and diagnostics). */
  count(): number {
    return this.open.size;
  }

  async watch(target: Target): Promise<{ watchId: string }> {
    if (this.open.size >= MAX_OBJECT_WATCHES)
      throw new AppError(
        'events/too-many',
        `${this.open.size} object event watches are open already.`,
        'Close a node page (or reload the app) and try again.',
      );
    const kc = await this.opts.kubeConfigFor(target.clusterId);
    const watchId = `ev-${randomBytes(8).toString('hex')}`;
    // Node events are posted in the default namespace, so cluster-scoped objects list all namespaces.
    const path = target.namespace ? `/api/v1/namespaces/${target.namespace}/events` : '/api/v1/events';
    const ring = new EventRing(OBJECT_EVENTS_MAX);
    let state: ResourceState = { status: 'syncing' };
    const changed = () => this.send(watchId);
    const watcher = new ResourceWatcher<EventWire>(
      kc,
      { kind: 'events', path, fieldSelector: involvedSelector(target) },
      {
        replace: (_k, items) => {
          ring.replace(items, () => false);
          changed();
        },
        upsert: (_k, e) => {
          ring.upsert(e);
          changed();
        },
        remove: (_k, e) => {
          ring.remove(e);
          changed();
        },
        state: (_k, s) => {
          state = s.message ? { ...s, message: this.redact(s.message) } : s;
          changed();
        },
        contact: () => {},
        trouble: (_k, e) => {
          state = { status: 'error', message: this.redact(`${e.message} (retrying)`) };
          changed();
        },
      },
      this.opts.watcher,
      reduceEvent,
    );
    this.open.set(watchId, { target, watcher, ring, state: () => state });
    watcher.start();
    return { watchId };
  }
  async unwatch(watchId: string): Promise<void> {
    const entry = this.open.get(watchId);
    this.open.delete(watchId);
    await entry?.watcher.stop();
  }

  async closeAll(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map((e) => e.watcher.stop()));
  }

  private send(watchId: string): void {
    const entry = this.open.get(watchId);
    if (!entry) return;
    const items = [...entry.ring.values()].sort((a, b) => (b.lastAt ?? '').localeCompare(a.lastAt ?? ''));
    this.opts.emit('events:object', {
      watchId,
      clusterId: entry.target.clusterId,
      state: entry.state(),
      items,
      at: new Date((this.opts.now ?? Date.now)()).toISOString(),
    });
  }

  handlers(): Pick<IpcHandlers, 'events:watchObject' | 'events:unwatchObject'> {
    return {
      'events:watchObject': (t) => this.watch(t),
      'events:unwatchObject': async ({ watchId }) => {
        await this.unwatch(watchId);
        return null;
      },
    };
  }
}
