import type { CacheManager } from './cache-manager.ts';
import type { Logger } from './log.ts';
import { parseRequestInfo } from './request-info.ts';
import type { Upstream } from './upstream.ts';

/** Query parameters that make a request a watch, a page or a version-bound read rather than "now, all of it". */
const NOT_SCOPE = [
  'watch',
  'resourceVersion',
  'resourceVersionMatch',
  'timeoutSeconds',
  'allowWatchBookmarks',
  'sendInitialEvents',
  'limit',
  'continue',
];
/** Distinct reads remembered (a node's clients make a few dozen); past it the oldest are forgotten. */
const MAX_SCOPES = 2_000;

export interface ResyncResult {
  refreshed: number;
  /** Reads the node identity may not make (403) or that no longer exist (404): left to the client's next read. */
  skipped: number;
  failed: number;
}

/**
 * Remembers what each cacheable client reads (component and the read as a plain GET: watches become
 * the LIST they stand for) so that, after the cache disk refused writes for a while, the hub can read
 * it all again from the cloud through the cache's own sinks — a complete LIST also drops cached objects
 * the cloud no longer has — before the cache is trusted offline again.
 */
export class CacheResync {
  private readonly scopes = new Map<string, { component: string; path: string }>();
  private readonly upstream: Upstream;
  private readonly cache: CacheManager;
  private readonly log: Logger;

  constructor(upstream: Upstream, cache: CacheManager, log: Logger) {
    this.upstream = upstream;
    this.cache = cache;
    this.log = log;
  }

  record(component: string, url: string): void {
    const u = new URL(url, 'http://hub');
    for (const p of NOT_SCOPE) u.searchParams.delete(p);
    const path = `${u.pathname}${u.search}`;
    const key = `${component} ${path}`;
    if (this.scopes.has(key)) return;
    if (this.scopes.size >= MAX_SCOPES) this.scopes.delete(this.scopes.keys().next().value as string);
    this.scopes.set(key, { component, path });
  }

  get size(): number {
    return this.scopes.size;
  }

  /** Reads every remembered scope once, one at a time (a thin uplink is not flooded). */
  async run(): Promise<ResyncResult> {
    const result: ResyncResult = { refreshed: 0, skipped: 0, failed: 0 };
    for (const { component, path } of [...this.scopes.values()]) {
      const status = await this.refresh(component, path).catch((err: Error) => {
        this.log.warn('cache.resync_failed', { component, path, error: err.message });
        return 0;
      });
      if (status >= 200 && status < 300) result.refreshed++;
      else if (status === 403 || status === 404) result.skipped++;
      else result.failed++;
    }
    this.log.info('cache.resync', { ...result });
    return result;
  }

  /** One read from the cloud, its body fed to the cache as the proxy would; resolves with the status. */
  private refresh(component: string, path: string): Promise<number> {
    const info = parseRequestInfo('GET', path);
    const servers = this.upstream.order();
    const server = servers[0];
    if (!server) return Promise.reject(new Error('no API server configured'));
    return new Promise((resolve, reject) => {
      const req = this.upstream.request(server, {
        method: 'GET',
        path,
        headers: { accept: 'application/json', 'user-agent': 'edgefleet-hub' },
      });
      req.setTimeout(60_000, () => req.destroy(new Error('no answer in 60 s')));
      req.on('error', reject);
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        const sink = this.cache.sinkFor(component, info, status, String(res.headers['content-type'] ?? ''));
        res.on('data', (c: Buffer) => {
          this.upstream.bytesIn += c.length;
          // The cache's own backpressure: read the cloud at the pace the disk takes.
          if (sink && !sink.write(c)) {
            res.pause();
            sink.onDrain(() => res.resume());
          }
        });
        res.on('error', reject);
        res.on('end', () => {
          if (!sink) return resolve(status);
          sink.end().then(() => resolve(status), reject);
        });
      });
      req.end();
    });
  }
}
