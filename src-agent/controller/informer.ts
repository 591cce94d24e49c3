/**
 * List+watch cache of one resource. It lists (paginated), then watches from the list's
 * resourceVersion with bookmarks so a reconnect resumes without a re-list; a 410 Gone re-lists and
 * reports the difference as events. Every resyncMs all cached objects are replayed as updates so
 * level-triggered reconcilers correct drift even without API changes. Indexers (as client-go's)
 * keep keys by a derived value — nodes by pool — so a reconciler finds its objects without
 * scanning and copying the whole cache.
 */
import {
  isGone,
  type KubeClient,
  type KubeObject,
  type ListOptions,
  objectKey,
  type ResourceRef,
} from '../api/kube-client.ts';

export type InformerEvent = 'add' | 'update' | 'delete';
export type InformerHandler<T> = (type: InformerEvent, obj: T, old?: T) => void;

/** The index values of an object (none, one or many); objects are found by any of them. */
export type IndexFunc<T> = (obj: T) => readonly (string | undefined)[];

interface Index<T> {
  fn: IndexFunc<T>;
  keys: Map<string, Set<string>>;
}

export interface InformerOptions extends ListOptions {
  resyncMs?: number;
  /** Server-side watch timeout; the watch is re-opened from the last seen resourceVersion. */
  watchTimeoutSeconds?: number;
  onError?: (err: unknown) => void;
}

export class Informer<T extends KubeObject> {
  readonly resource: ResourceRef;
  private readonly client: KubeClient;
  private readonly opts: InformerOptions;
  private readonly store = new Map<string, T>();
  private readonly handlers: InformerHandler<T>[] = [];
  private readonly indexes = new Map<string, Index<T>>();
  private resourceVersion = '';
  private syncedResolve!: () => void;
  /** Resolves after the first complete list has been delivered to handlers. */
  readonly synced: Promise<void>;
  relists = 0;

  constructor(client: KubeClient, resource: ResourceRef, opts: InformerOptions = {}) {
    this.client = client;
    this.resource = resource;
    this.opts = opts;
    this.synced = new Promise((r) => {
      this.syncedResolve = r;
    });
  }

  /**
   * Adds a handler. Objects already cached are replayed to it as 'add' (as client-go does), so a
   * handler registered after the informer started — the leader's controllers on the webhook's
   * shared Node cache — still sees every object.
   */
  on(handler: InformerHandler<T>): void {
    this.handlers.push(handler);
    for (const obj of this.store.values()) handler('add', obj);
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  /**
   * Adds (or replaces) an index, built at once from what is cached and kept current on every add,
   * update and delete, so it may be added while the informer runs.
   */
  addIndexer(name: string, fn: IndexFunc<T>): void {
    const index: Index<T> = { fn, keys: new Map() };
    this.indexes.set(name, index);
    for (const [key, obj] of this.store) this.indexAdd(index, key, obj);
  }

  /** The cached objects whose index `name` includes `value`. */
  byIndex(name: string, value: string): T[] {
    const index = this.indexes.get(name);
    if (!index) throw new Error(`informer ${this.resource.plural}: no index ${name}`);
    const out: T[] = [];
    for (const key of index.keys.get(value) ?? []) {
      const obj = this.store.get(key);
      if (obj) out.push(obj);
    }
    return out;
  }

  private indexAdd(index: Index<T>, key: string, obj: T): void {
    for (const v of index.fn(obj)) {
      if (v === undefined) continue;
      const keys = index.keys.get(v);
      if (keys) keys.add(key);
      else index.keys.set(v, new Set([key]));
    }
  }

  private indexRemove(index: Index<T>, key: string, obj: T): void {
    for (const v of index.fn(obj)) {
      const keys = v === undefined ? undefined : index.keys.get(v);
      if (!keys) continue;
      keys.delete(key);
      if (keys.size === 0) index.keys.delete(v as string);
    }
  }

  /** Every store write goes through here so the indexes never disagree with the store. */
  private put(key: string, obj: T): T | undefined {
    const old = this.store.get(key);
    for (const index of this.indexes.values()) {
      if (old) this.indexRemove(index, key, old);
      this.indexAdd(index, key, obj);
    }
    this.store.set(key, obj);
    return old;
  }

  private remove(key: string): void {
    const old = this.store.get(key);
    if (!old) return;
    for (const index of this.indexes.values()) this.indexRemove(index, key, old);
    this.store.delete(key);
  }

  list(): T[] {
    return [...this.store.values()];
  }

  private emit(type: InformerEvent, obj: T, old?: T): void {
    for (const h of this.handlers) h(type, obj, old);
  }

  private async relist(): Promise<void> {
    const res = await this.client.list<T>(this.resource, this.opts);
    this.relists++;
    const seen = new Set<string>();
    for (const item of res.items) {
      const key = objectKey(item);
      seen.add(key);
      const old = this.put(key, item);
      if (!old) this.emit('add', item);
      else if (old.metadata.resourceVersion !== item.metadata.resourceVersion) this.emit('update', item, old);
    }
    for (const [key, old] of this.store) {
      if (!seen.has(key)) {
        this.remove(key);
        this.emit('delete', old);
      }
    }
    this.resourceVersion = res.resourceVersion;
  }

  /** Runs until the signal aborts. Transient errors back off and retry; they never end the loop. */
  async run(signal: AbortSignal): Promise<void> {
    const resync = this.opts.resyncMs
      ? setInterval(() => {
          for (const obj of this.store.values()) this.emit('update', obj, obj);
        }, this.opts.resyncMs)
      : undefined;
    let backoff = 200;
    let needList = true;
    try {
      while (!signal.aborted) {
        try {
          if (needList) {
            await this.relist();
            this.syncedResolve();
            needList = false;
          }
          await this.client.watch<T>(
            this.resource,
            {
              ...this.opts,
              resourceVersion: this.resourceVersion,
              timeoutSeconds: this.opts.watchTimeoutSeconds ?? 240 + Math.floor(Math.random() * 60),
              signal,
            },
            (ev) => {
              const rv = ev.object.metadata?.resourceVersion;
              if (rv) this.resourceVersion = rv;
              if (ev.type === 'BOOKMARK') return;
              const key = objectKey(ev.object);
              if (ev.type === 'DELETED') {
                this.remove(key);
                this.emit('delete', ev.object);
              } else {
                const old = this.put(key, ev.object);
                this.emit(old ? 'update' : 'add', ev.object, old);
              }
            },
          );
          backoff = 200;
        } catch (e) {
          if (signal.aborted) break;
          if (isGone(e)) {
            needList = true;
            continue;
          }
          this.opts.onError?.(e);
          await sleep(backoff, signal);
          backoff = Math.min(backoff * 2, 10_000);
          // After a failed list or an unknown watch failure the cache may be stale: re-list.
          needList = true;
        }
      }
    } finally {
      if (resync) clearInterval(resync);
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
