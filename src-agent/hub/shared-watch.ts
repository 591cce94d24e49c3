import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { CacheManager, CacheSink } from './cache-manager.ts';
import type { Logger } from './log.ts';
import type { ForwardRequest } from './proxy.ts';
import { WatchDecoder } from './watch-decoder.ts';

/** Query parameters that do not change which events a watch carries (each client keeps its own). */
const PER_CLIENT_PARAMS = new Set(['resourceVersion', 'timeoutSeconds', 'allowWatchBookmarks', 'watch']);
/** Events kept for clients that join a shared watch from a slightly older resourceVersion. */
const REPLAY_EVENTS = 2000;
/** A client this far behind (bytes queued) is dropped; it re-watches and catches up from its own RV. */
const MAX_QUEUED_BYTES = 16 * 1024 * 1024;

/**
 * The key under which identical watches share one upstream stream, or undefined when this watch must
 * have its own: requests with their own credentials, a resourceVersion that asks for synthetic initial
 * events ("" or "0"), streaming lists (sendInitialEvents) and non-numeric resourceVersions.
 */
export function shareKey(f: ForwardRequest): { key: string; rv: bigint } | undefined {
  const { info, req } = f;
  if (info.verb !== 'watch' || req.method !== 'GET' || req.headers.authorization !== undefined)
    return undefined;
  if (info.query.has('sendInitialEvents') || info.query.has('resourceVersionMatch')) return undefined;
  const rv = info.query.get('resourceVersion') ?? '';
  if (!/^[1-9]\d*$/.test(rv)) return undefined;
  // Sorted by code unit, not localeCompare: a collator loads ICU data (~3 MB RSS) for no gain here.
  const rest = new URLSearchParams([...info.query.entries()].filter(([k]) => !PER_CLIENT_PARAMS.has(k)));
  rest.sort();
  return { key: `${info.path}?${rest.toString()}`, rv: BigInt(rv) };
}

interface Subscriber {
  f: ForwardRequest;
  since: bigint;
  write(line: Buffer): void;
  end(): void;
}

/**
 * One upstream watch fanned out to every local client that asked for the same thing. Events are split
 * into lines once, remembered (bounded) with their resourceVersion so a client joining from an older
 * RV gets exactly the events it missed, then streamed live. When the upstream ends, every client's
 * stream ends cleanly and clients re-watch from their own last RV (as after an API server timeout).
 */
export class SharedWatch {
  readonly key: string;
  private readonly startRv: bigint;
  private readonly ures: IncomingMessage;
  private readonly headers: OutgoingHttpHeaders;
  private readonly cache: CacheManager;
  private readonly log: Logger;
  private readonly subs = new Set<Subscriber>();
  private readonly replay: { rv: bigint; line: Buffer }[] = [];
  private replayDropped = false;
  private lastRv: bigint;
  private done = false;
  private readonly onDone: () => void;
  private readonly countIn: (n: number) => void;

  constructor(o: {
    key: string;
    startRv: bigint;
    ures: IncomingMessage;
    cache: CacheManager;
    log: Logger;
    onDone: () => void;
    countIn: (n: number) => void;
  }) {
    this.key = o.key;
    this.startRv = o.startRv;
    this.lastRv = o.startRv;
    this.ures = o.ures;
    this.cache = o.cache;
    this.log = o.log;
    this.onDone = o.onDone;
    this.countIn = o.countIn;
    const h: OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(o.ures.headers))
      if (v !== undefined && !['content-length', 'transfer-encoding', 'connection', 'keep-alive'].includes(k))
        h[k] = v;
    this.headers = h;
    const decoder = new WatchDecoder();
    o.ures.on('data', (c: Buffer) => {
      this.countIn(c.length);
      for (const ev of decoder.push(c)) {
        const line = Buffer.from(`${JSON.stringify(ev)}\n`);
        const rvText =
          (ev.object as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion ?? '';
        const rv = /^\d+$/.test(rvText) ? BigInt(rvText) : this.lastRv;
        if (rv > this.lastRv) this.lastRv = rv;
        if (ev.type !== 'BOOKMARK' && ev.type !== 'ERROR') {
          this.replay.push({ rv, line });
          if (this.replay.length > REPLAY_EVENTS) {
            this.replay.shift();
            this.replayDropped = true;
          }
        }
        for (const s of this.subs) {
          if (ev.type === 'BOOKMARK' && s.f.info.query.get('allowWatchBookmarks') !== 'true') continue;
          if (rv > s.since || ev.type === 'ERROR' || ev.type === 'BOOKMARK') s.write(line);
        }
      }
    });
    const finish = () => this.finish();
    o.ures.on('end', finish);
    o.ures.on('close', finish);
    o.ures.on('error', finish);
  }

  get subscribers(): number {
    return this.subs.size;
  }

  /** Whether a client watching from `rv` can be served exactly from this stream. */
  canServe(rv: bigint): boolean {
    if (this.done) return false;
    if (rv < this.startRv) return false;
    const oldest = this.replay[0]?.rv;
    return !this.replayDropped || (oldest !== undefined && rv >= oldest - 1n);
  }

  add(f: ForwardRequest, since: bigint): void {
    const { res } = f;
    res.writeHead(200, this.headers);
    res.flushHeaders();
    let sink: CacheSink | undefined;
    if (f.cacheable && this.cache.isCacheableRequest(f.info))
      sink = this.cache.sinkFor(f.component, f.info, 200, String(this.headers['content-type'] ?? ''));
    const out = (c: Buffer) => {
      sink?.write(c);
      if (res.writableLength > MAX_QUEUED_BYTES) {
        this.log.warn('shared_watch.slow_client_dropped', { key: this.key, component: f.component });
        sub.end();
        return;
      }
      res.write(c);
    };
    const transform = f.makeTransform?.(out);
    let timer: NodeJS.Timeout | undefined;
    const sub: Subscriber = {
      f,
      since,
      write: (line) => (transform ? transform.write(line) : out(line)),
      end: () => {
        if (!this.subs.delete(sub)) return;
        if (timer) clearTimeout(timer);
        transform?.close();
        if (!res.writableEnded) res.end();
        sink?.end().catch(() => undefined);
        if (this.subs.size === 0) this.ures.destroy();
      },
    };
    this.subs.add(sub);
    for (const e of this.replay) if (e.rv > since) sub.write(e.line);
    const timeout = Number(f.info.query.get('timeoutSeconds') ?? '0');
    if (timeout > 0) timer = setTimeout(() => sub.end(), timeout * 1000);
    res.on('close', () => sub.end());
  }

  /** Ends every client stream cleanly and the upstream (cloud went away, hub closing). */
  finish(): void {
    if (this.done) return;
    this.done = true;
    this.onDone();
    for (const s of [...this.subs]) s.end();
    this.ures.destroy();
  }
}
