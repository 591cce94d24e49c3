import type { Logger } from './log.ts';
import type { Upstream } from './upstream.ts';
import { WatchDecoder } from './watch-decoder.ts';

export interface InformedObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export interface CloudInformerOptions {
  upstream: Upstream;
  /** Collection path, e.g. `/api/v1/services` or `/api/v1/namespaces/kube-system/configmaps`. */
  path: string;
  /** Extra query (fieldSelector etc.), without watch/resourceVersion. */
  query?: Record<string, string>;
  log: Logger;
  /** Called after every change of the store (initial list included). */
  onChange: (store: ReadonlyMap<string, InformedObject>) => void;
  retryMs?: number;
  /**
   * The part of each object worth keeping (the rest is dropped as it arrives): the hub needs a few fields
   * of thousands of Services, not the Services.
   */
  keep?: (o: InformedObject) => InformedObject;
}

const keyOf = (o: InformedObject) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/**
 * The hub's own list+watch of something it needs to know from the cloud (Services for the topology filter,
 * NodePools, its config ConfigMaps), with the node certificate. Re-lists after a failed or expired watch;
 * while the cloud is unreachable it keeps the last store and retries.
 */
export class CloudInformer {
  private readonly o: CloudInformerOptions;
  readonly store = new Map<string, InformedObject>();
  private stopped = false;
  private abort: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  synced = false;
  lastError = '';
  private failures = 0;

  constructor(o: CloudInformerOptions) {
    this.o = o;
  }

  start(): void {
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    this.abort?.();
    if (this.timer) clearTimeout(this.timer);
  }

  private url(extra: Record<string, string>): string {
    const q = new URLSearchParams({ ...this.o.query, ...extra });
    return `${this.o.path}?${q.toString()}`;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        const rv = await this.list();
        await this.watch(rv);
        this.failures = 0;
      } catch (err) {
        this.lastError = (err as Error).message;
        this.failures++;
        // Log the first failure and then rarely: a missing CRD or RBAC rule would otherwise flood the log.
        if (this.failures === 1 || this.failures % 20 === 0)
          this.o.log.warn('informer.failed', {
            path: this.o.path,
            error: this.lastError,
            failures: this.failures,
          });
      }
      if (this.stopped) return;
      // An answer like 403/404 will not change soon; a network error might any second.
      const wait =
        /answered 4\d\d/.test(this.lastError) && this.failures > 0 ? 30_000 : (this.o.retryMs ?? 3000);
      await new Promise<void>((r) => {
        this.timer = setTimeout(r, wait);
        this.timer.unref?.();
      });
    }
  }

  private async list(): Promise<string> {
    const res = await this.o.upstream.json('GET', this.url({}), undefined, 15_000);
    if (res.status !== 200) throw new Error(`list ${this.o.path} answered ${res.status}: ${brief(res.body)}`);
    const body = res.body as { items?: InformedObject[]; metadata?: { resourceVersion?: string } };
    this.store.clear();
    const keep = this.o.keep ?? ((o: InformedObject) => o);
    for (const it of body.items ?? []) this.store.set(keyOf(it), keep(it));
    this.synced = true;
    this.o.onChange(this.store);
    return body.metadata?.resourceVersion ?? '';
  }

  /** Resolves when the watch ends (server timeout, cloud gone, 410): the loop re-lists. */
  private watch(rv: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = this.o.upstream.order()[0];
      if (!server) {
        reject(new Error('no API server configured'));
        return;
      }
      const req = this.o.upstream.request(server, {
        method: 'GET',
        path: this.url({
          watch: 'true',
          resourceVersion: rv,
          allowWatchBookmarks: 'true',
          timeoutSeconds: '300',
        }),
        headers: { accept: 'application/json', 'user-agent': 'edgefleet-hub' },
      });
      this.abort = () => req.destroy();
      req.on('error', (err) => reject(err));
      req.on('response', (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`watch ${this.o.path} answered ${res.statusCode}`));
          return;
        }
        const dec = new WatchDecoder();
        res.on('data', (c: Buffer) => {
          this.o.upstream.bytesIn += c.length;
          let changed = false;
          for (const ev of dec.push(c)) {
            const obj = ev.object as InformedObject;
            if (ev.type === 'ERROR') {
              req.destroy();
              resolve();
              return;
            }
            if (ev.type === 'BOOKMARK') continue;
            if (ev.type === 'DELETED') this.store.delete(keyOf(obj));
            else this.store.set(keyOf(obj), this.o.keep ? this.o.keep(obj) : obj);
            changed = true;
          }
          if (changed) this.o.onChange(this.store);
        });
        res.on('end', () => resolve());
        res.on('close', () => resolve());
        res.on('error', () => resolve());
      });
      req.end();
    });
  }
}

function brief(b: unknown): string {
  const s = typeof b === 'string' ? b : JSON.stringify(b);
  return (s ?? '').slice(0, 200);
}
