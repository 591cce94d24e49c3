/**
 * List + watch for one resource, written for flaky links:
 * - list in pages (limit/continue), restarting if the continue token expires (410);
 * - watch from the list's resourceVersion with bookmarks, following resourceVersion;
 * - 410 Gone (our version fell out of etcd's window) → full re-list;
 * - a watchdog aborts a watch that went silent (half-open TCP) and re-watches;
 * - 403 → "forbidden", 404 → "absent" (e.g. no CRD), both retried slowly.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { ResourceState } from '../ipc/types.ts';
import { type ApiResponse, getJson, NetworkError, watchStream } from './api.ts';
import { FALLBACK_PATHS, type ResourceDef, type WatchId } from './resources.ts';

export type KubeObj = Record<string, unknown> & {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
};

/**
 * Where a watcher delivers. Objects arrive already reduced (`reduce`, page by page), so a list
 * of 50,000 pods never sits in memory as full objects.
 */
export interface WatcherSink<T = KubeObj> {
  /** Authoritative full content after a (re-)list. */
  replace(kind: WatchId, items: T[]): void;
  upsert(kind: WatchId, obj: T): void;
  remove(kind: WatchId, obj: T): void;
  state(kind: WatchId, s: ResourceState): void;
  /** The API server answered. */
  contact(): void;
  /** The API server could not be reached / the link broke. */
  trouble(kind: WatchId, error: Error): void;
}

export interface WatcherOptions {
  pageSize?: number;
  watchTimeoutSeconds?: number;
  /** A watch with no bytes (events or bookmarks) for this long is considered stalled. */
  stallMs?: number;
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** Retry period for forbidden/absent resources (permissions or CRDs may appear). */
  slowRetryMs?: number;
  requestTimeoutMs?: number;
}

const DEFAULTS: Required<WatcherOptions> = {
  pageSize: 500,
  watchTimeoutSeconds: 300,
  stallMs: 120_000,
  backoffMinMs: 500,
  backoffMaxMs: 10_000,
  slowRetryMs: 60_000,
  requestTimeoutMs: 30_000,
};

class Gone extends Error {}

function statusMessage(r: ApiResponse): string {
  const b = r.body as { message?: unknown } | string;
  if (typeof b === 'object' && b && typeof b.message === 'string') return b.message;
  return `HTTP ${r.status}`;
}

export class ResourceWatcher<T = KubeObj> {
  readonly def: ResourceDef;
  private readonly kc: KubeConfig;
  private readonly sink: WatcherSink<T>;
  private readonly reduce: (o: KubeObj) => T;
  private readonly opts: Required<WatcherOptions>;
  private readonly abort = new AbortController();
  private path: string;
  private resourceVersion: string | undefined;
  private failures = 0;
  private running: Promise<void> | null = null;

  constructor(
    kc: KubeConfig,
    def: ResourceDef,
    sink: WatcherSink<T>,
    options: WatcherOptions = {},
    reduce: (o: KubeObj) => T = (o) => o as T,
  ) {
    this.kc = kc;
    this.reduce = reduce;
    this.def = def;
    this.path = def.path;
    this.sink = sink;
    this.opts = { ...DEFAULTS, ...options };
  }

  start(): void {
    this.running ??= this.loop();
  }

  get started(): boolean {
    return this.running !== null;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        if (this.resourceVersion === undefined) {
          const done = await this.list();
          if (!done) continue;
        }
        await this.watchOnce();
        this.failures = 0;
      } catch (e) {
        if (this.stopped) return;
        if (e instanceof Gone) {
          this.resourceVersion = undefined;
          continue;
        }
        this.failures++;
        this.sink.trouble(this.def.kind, e as Error);
        if (!(e instanceof NetworkError))
          this.sink.state(this.def.kind, { status: 'error', message: (e as Error).message });
        await this.sleep(this.backoff());
      }
    }
  }

  private backoff(): number {
    const base = Math.min(
      this.opts.backoffMaxMs,
      this.opts.backoffMinMs * 2 ** Math.min(this.failures - 1, 10),
    );
    return base / 2 + Math.random() * (base / 2);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.abort.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          resolve();
        },
        { once: true },
      );
    });
  }

  /** Handles 403/404 for list and watch alike; returns true if the caller should give up this round. */
  private async refused(r: ApiResponse): Promise<boolean> {
    if (r.status === 403 || r.status === 401) {
      this.sink.contact();
      this.resourceVersion = undefined;
      // Stale objects next to "forbidden" would look current; show nothing rather than old data.
      this.sink.replace(this.def.kind, []);
      this.sink.state(this.def.kind, { status: 'forbidden', message: statusMessage(r) });
      await this.sleep(this.opts.slowRetryMs);
      return true;
    }
    if (r.status === 404) {
      this.sink.contact();
      this.resourceVersion = undefined;
      const fallbacks = FALLBACK_PATHS[this.def.kind] ?? [];
      const next = fallbacks[fallbacks.indexOf(this.path) + 1];
      if (this.path === this.def.path && fallbacks[0]) this.path = fallbacks[0];
      else if (next) this.path = next;
      else {
        this.path = this.def.path;
        this.sink.state(this.def.kind, {
          status: 'absent',
          message: `the API server does not serve ${this.def.kind}`,
        });
        await this.sleep(this.opts.slowRetryMs);
      }
      return true;
    }
    return false;
  }

  private async list(): Promise<boolean> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv: string | undefined;
    do {
      const q = new URLSearchParams({ limit: String(this.opts.pageSize) });
      if (this.def.fieldSelector) q.set('fieldSelector', this.def.fieldSelector);
      if (cont) q.set('continue', cont);
      const r = await getJson(this.kc, `${this.path}?${q}`, this.abort.signal, this.opts.requestTimeoutMs);
      if (await this.refused(r)) return false;
      if (r.status === 410) {
        // The continue token expired mid-list: start over.
        cont = undefined;
        items.length = 0;
        continue;
      }
      if (r.status !== 200) throw new Error(`list ${this.path}: ${statusMessage(r)}`);
      this.sink.contact();
      const body = r.body as {
        items?: KubeObj[];
        metadata?: { continue?: string; resourceVersion?: string };
      };
      for (const item of body.items ?? []) items.push(this.reduce(item));
      cont = body.metadata?.continue || undefined;
      rv = body.metadata?.resourceVersion;
    } while (cont && !this.stopped);
    if (this.stopped) return false;
    this.resourceVersion = rv ?? '0';
    this.sink.replace(this.def.kind, items);
    this.sink.state(this.def.kind, { status: 'synced' });
    return true;
  }

  private async watchOnce(): Promise<void> {
    const q = new URLSearchParams({
      watch: '1',
      allowWatchBookmarks: 'true',
      resourceVersion: this.resourceVersion ?? '0',
      timeoutSeconds: String(this.opts.watchTimeoutSeconds),
    });
    if (this.def.fieldSelector) q.set('fieldSelector', this.def.fieldSelector);
    const local = new AbortController();
    const signal = AbortSignal.any([this.abort.signal, local.signal]);
    let stalled = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        stalled = true;
        local.abort();
      }, this.opts.stallMs);
    };
    arm();
    let gone = false;
    let watchError: string | undefined;
    try {
      const r = await watchStream(this.kc, `${this.path}?${q}`, signal, {
        onOpen: () => this.sink.contact(),
        onActivity: arm,
        onEvent: (e) => {
          const rv = (e.object as KubeObj).metadata?.resourceVersion;
          switch (e.type) {
            case 'ADDED':
            case 'MODIFIED':
              this.sink.upsert(this.def.kind, this.reduce(e.object as KubeObj));
              break;
            case 'DELETED':
              this.sink.remove(this.def.kind, this.reduce(e.object as KubeObj));
              break;
            case 'BOOKMARK':
              break;
            case 'ERROR': {
              const status = e.object as { code?: number; message?: string };
              if (status.code === 410) gone = true;
              else watchError = `watch ${this.path}: ${status.message ?? `error event ${status.code}`}`;
              return false;
            }
          }
          if (rv) this.resourceVersion = rv;
          return true;
        },
      });
      if (watchError) throw new Error(watchError);
      if (r) {
        if (await this.refused(r)) return;
        if (r.status === 410) throw new Gone();
        throw new Error(`watch ${this.path}: ${statusMessage(r)}`);
      }
    } catch (e) {
      if (gone) throw new Gone();
      if (this.stopped) return;
      if (stalled)
        throw new NetworkError(`watch ${this.path} stalled: nothing received for ${this.opts.stallMs} ms`);
      throw e;
    } finally {
      clearTimeout(timer);
    }
    if (gone) throw new Gone();
  }
}
