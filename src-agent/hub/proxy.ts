import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { CacheManager, CacheSink } from './cache-manager.ts';
import type { BodyTransform } from './filters/transform.ts';
import { sendStatus } from './k8s-status.ts';
import type { LinkCheck } from './link-check.ts';
import type { Logger } from './log.ts';
import type { RequestInfo } from './request-info.ts';
import { SharedWatch, shareKey } from './shared-watch.ts';
import type { Upstream } from './upstream.ts';

/** Headers that belong to one hop and must not be forwarded (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'edge-cache',
]);

const CONNECT_TIMEOUT_MS = 10_000;
/** A dead keep-alive connection never answers; give up on headers after this and let the caller fall back. */
const RESPONSE_HEADER_TIMEOUT_MS = 60_000;

export interface ForwardRequest {
  req: IncomingMessage;
  res: ServerResponse;
  info: RequestInfo;
  component: string;
  cacheable: boolean;
  /** The request body when the caller already read it (journalable writes); otherwise it is piped. */
  body?: Buffer;
  /** Response filters for this request (servicetopology etc.); the filtered body is what is cached. */
  makeTransform?: (emit: (chunk: Buffer) => void) => BodyTransform;
  /** Never present the node certificate (requests from pods on the secure port act as themselves). */
  ownCredentials?: boolean;
}

/** The cloud could not be reached before any response byte was sent: the caller may serve locally. */
export type Unreachable = (reason: string) => void;

function outgoingHeaders(req: IncomingMessage, readsBody: boolean): OutgoingHttpHeaders {
  const h: OutgoingHttpHeaders = {};
  const connectionTokens = String(req.headers.connection ?? '')
    .split(',')
    .map((t) => t.trim().toLowerCase());
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || connectionTokens.includes(k)) continue;
    h[k] = v;
  }
  // Only JSON can be teed into the cache or filtered; protobuf-preferring clients (kubelet) are asked for
  // JSON, and uncompressed (client-go sends Accept-Encoding: gzip and the API server gzips big lists).
  if (readsBody) {
    h.accept = 'application/json';
    delete h['accept-encoding'];
  }
  return h;
}

function responseHeaders(res: IncomingMessage): OutgoingHttpHeaders {
  const h: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(res.headers)) {
    if (v === undefined || HOP_BY_HOP.has(k)) continue;
    h[k] = v;
  }
  return h;
}

/**
 * Streams requests to the API server and responses back — watches and chunked lists chunk by chunk,
 * never buffered whole — teeing cacheable responses into the cache as they pass.
 */
export class ApiProxy {
  private readonly upstream: Upstream;
  private readonly cache: CacheManager;
  private readonly log: Logger;
  /** Open upstream watches, ended cleanly when the cloud goes away so clients re-list from cache. */
  private readonly watches = new Set<() => void>();
  /** Upstream watches shared by identical local watches, by share key. */
  private readonly shared = new Map<string, SharedWatch>();
  /** Identical watches waiting for the first one's upstream answer, by share key. */
  private readonly pendingShare = new Map<
    string,
    { f: ForwardRequest; rv: bigint; unreachable: Unreachable }[]
  >();
  /** Watches opened to the cloud (shared or not), for the uplink metric and tests. */
  upstreamWatches = 0;
  /** Local watches served by joining an existing upstream watch. */
  sharedJoins = 0;
  private readonly linkCheck: LinkCheck | undefined;
  /**
   * Requests in flight to the cloud, each with how to give it up: before its response headers, by
   * answering it locally (the caller's fallback); after them, by ending the stream (the client retries).
   */
  private readonly inFlight = new Set<(why: string) => void>();

  constructor(upstream: Upstream, cache: CacheManager, log: Logger, linkCheck?: LinkCheck) {
    this.upstream = upstream;
    this.cache = cache;
    this.log = log;
    this.linkCheck = linkCheck;
  }

  /**
   * The cloud went away: requests still waiting on it would hang until their own timeouts, so those
   * without an answer yet are answered locally now and unfinished responses are ended.
   */
  abandonInFlight(why: string): void {
    for (const give of [...this.inFlight]) give(why);
  }

  /** Ends every proxied watch cleanly (the client sees a normal end of stream and re-lists). */
  endWatches(): void {
    for (const end of [...this.watches]) end();
    for (const g of [...this.shared.values()]) g.finish();
  }

  get sharedSubscribers(): number {
    let n = 0;
    for (const g of this.shared.values()) n += g.subscribers;
    return n;
  }

  get openWatches(): number {
    return this.watches.size;
  }

  forward(f: ForwardRequest, unreachable: Unreachable): void {
    const { req, res, info } = f;
    const share = shareKey(f);
    if (share) {
      const g = this.shared.get(share.key);
      if (g?.canServe(share.rv)) {
        this.sharedJoins++;
        g.add(f, share.rv);
        return;
      }
      const waiting = this.pendingShare.get(share.key);
      if (waiting && !g) {
        // The same watch is already on its way to the cloud: wait for it rather than open another.
        waiting.push({ f, rv: share.rv, unreachable });
        return;
      }
      if (!g) this.pendingShare.set(share.key, []);
    }
    /** Hands waiting identical watches to the new group, or sends each on its own when there is none. */
    const settlePending = (g: SharedWatch | undefined): void => {
      if (!share) return;
      const waiting = this.pendingShare.get(share.key) ?? [];
      this.pendingShare.delete(share.key);
      for (const w of waiting) {
        if (w.f.res.destroyed) continue;
        if (g?.canServe(w.rv)) {
          this.sharedJoins++;
          g.add(w.f, w.rv);
        } else this.forward(w.f, w.unreachable);
      }
    };
    if (info.verb === 'watch') this.upstreamWatches++;
    const servers = this.upstream.order();
    // Only requests whose body we hold (or that have none) can be retried on another server.
    const retryable = f.body !== undefined || req.method === 'GET' || req.method === 'HEAD';
    const attempt = (i: number, freshSocket = false): void => {
      const server = servers[i];
      if (!server) {
        unreachable('no API server answered');
        return;
      }
      const headers = outgoingHeaders(req, f.cacheable || f.makeTransform !== undefined);
      if (f.body) headers['content-length'] = f.body.length;
      const creq = this.upstream.request(server, {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers,
        ownCredentials: f.ownCredentials || req.headers.authorization !== undefined,
        fresh: freshSocket,
      });
      let answered = false;
      const stopCheck = this.linkCheck?.watch(server, (why) => creq.destroy(new Error(why)));
      const giveUp = (why: string): void => {
        if (answered) return;
        answered = true;
        settle();
        creq.destroy();
        settlePending(undefined);
        unreachable(why);
      };
      const settle = (): void => {
        stopCheck?.();
        clearTimeout(headerTimer);
        this.inFlight.delete(giveUp);
      };
      this.inFlight.add(giveUp);
      const fail = (err: NodeJS.ErrnoException): void => {
        if (answered) return;
        answered = true;
        settle();
        // The server closed an idle keep-alive connection as it was reused: a race, not a cut (once).
        if (creq.reusedSocket && err.code === 'ECONNRESET' && retryable && !freshSocket && !res.destroyed) {
          attempt(i, true);
          return;
        }
        this.upstream.markFailed(server);
        this.log.warn('proxy.upstream_failed', {
          server: server.origin,
          path: info.path,
          error: err.message,
        });
        if (retryable && i + 1 < servers.length && !res.destroyed) attempt(i + 1);
        else {
          settlePending(undefined);
          unreachable(err.message);
        }
      };
      creq.on('socket', (s) => {
        if (!s.connecting) return;
        const t = setTimeout(
          () => creq.destroy(new Error(`connect timeout after ${CONNECT_TIMEOUT_MS} ms`)),
          CONNECT_TIMEOUT_MS,
        );
        s.once('connect', () => clearTimeout(t));
        s.once('close', () => clearTimeout(t));
      });
      const headerTimer = setTimeout(
        () => creq.destroy(new Error(`no response headers in ${RESPONSE_HEADER_TIMEOUT_MS} ms`)),
        RESPONSE_HEADER_TIMEOUT_MS,
      );
      creq.on('error', fail);
      // The client went away: stop the upstream request too (a watch would otherwise leak).
      let sharedOut = false;
      res.on('close', () => {
        // A shared upstream watch outlives the client that opened it; the group ends it when unused.
        if (!res.writableFinished && !sharedOut) creq.destroy();
      });
      creq.on('response', (ures) => {
        settle();
        answered = true;
        this.upstream.markOk(server);
        if (share && ures.statusCode === 200 && !this.shared.has(share.key)) {
          const g = new SharedWatch({
            key: share.key,
            startRv: share.rv,
            ures,
            cache: this.cache,
            log: this.log,
            onDone: () => {
              if (this.shared.get(share.key) === g) this.shared.delete(share.key);
            },
            countIn: (n) => {
              this.upstream.bytesIn += n;
            },
          });
          this.shared.set(share.key, g);
          sharedOut = true;
          g.add(f, share.rv);
          settlePending(g);
          return;
        }
        settlePending(undefined);
        this.pipeResponse(f, ures);
      });
      if (f.body) {
        this.upstream.bytesOut += f.body.length;
        creq.end(f.body);
      } else {
        req.on('data', (c: Buffer) => {
          this.upstream.bytesOut += c.length;
        });
        req.pipe(creq);
      }
    };
    attempt(0);
  }

  private pipeResponse(f: ForwardRequest, ures: IncomingMessage): void {
    const { res, info } = f;
    const status = ures.statusCode ?? 502;
    const contentType = String(ures.headers['content-type'] ?? '');
    let sink: CacheSink | undefined;
    if (f.cacheable && this.cache.isCacheableRequest(info))
      sink = this.cache.sinkFor(f.component, info, status, contentType);
    const headers = responseHeaders(ures);
    // The upstream is read only while both the client and the cache keep up; each holds it until it drains.
    const holds = new Set<'client' | 'cache'>();
    const hold = (by: 'client' | 'cache'): void => {
      holds.add(by);
      ures.pause();
    };
    const release = (by: 'client' | 'cache'): void => {
      if (holds.delete(by) && holds.size === 0 && !ures.destroyed) ures.resume();
    };
    // The client's bytes go out first; the cache reads its copy after, so its work never delays them.
    const out = (c: Buffer): void => {
      if (!res.write(c) && !holds.has('client')) {
        hold('client');
        res.once('drain', () => release('client'));
      }
      if (sink && !sink.write(c) && !holds.has('cache')) {
        hold('cache');
        sink.onDrain(() => release('cache'));
      }
    };
    const filterable =
      f.makeTransform !== undefined &&
      status >= 200 &&
      status < 300 &&
      contentType.startsWith('application/json') &&
      ures.headers['content-encoding'] === undefined;
    const transform = filterable ? f.makeTransform?.(out) : undefined;
    if (transform) delete headers['content-length'];
    if (!transform?.buffered) {
      res.writeHead(status, headers);
      // Watches must reach the client event by event, not when a buffer fills.
      if (info.verb === 'watch') res.flushHeaders();
    }
    const isWatch = info.verb === 'watch' && status === 200;
    // A LIST or GET still streaming when the cloud goes away is cut short, so its client retries
    // (and is answered from the cache) instead of waiting on a dead link; watches end cleanly instead.
    const cutShort = (): void => {
      ures.destroy();
    };
    if (!isWatch) {
      this.inFlight.add(cutShort);
      ures.once('close', () => this.inFlight.delete(cutShort));
    }
    let ended = false;
    const endClean = (): void => {
      if (ended) return;
      ended = true;
      this.watches.delete(endClean);
      transform?.close();
      ures.destroy();
      if (!res.headersSent) res.writeHead(status, headers);
      if (!res.writableEnded) res.end();
    };
    if (isWatch) this.watches.add(endClean);
    ures.on('data', (c: Buffer) => {
      this.upstream.bytesIn += c.length;
      if (transform) transform.write(c);
      else out(c);
    });
    ures.on('end', () => {
      this.watches.delete(endClean);
      transform?.close();
      if (transform?.buffered) {
        const r = transform.end();
        const body = r.body ?? Buffer.alloc(0);
        headers['content-length'] = body.length;
        res.writeHead(r.status ?? status, headers);
        // A response the filter turned into 404 is not the cloud's answer: keep it out of the cache.
        if (r.status === undefined) sink?.write(body);
        res.write(body);
      }
      if (!ended) {
        ended = true;
        res.end();
      }
      sink
        ?.end()
        .catch((err: Error) => this.log.warn('cache.store_failed', { path: info.path, error: err.message }));
    });
    ures.on('error', () => undefined);
    ures.on('aborted', () => undefined);
    ures.on('close', () => {
      if (ended || ures.complete) return;
      this.watches.delete(endClean);
      transform?.close();
      ended = true;
      if (isWatch) {
        // The API server went away mid-watch (restart, link cut): end the stream cleanly so the
        // client re-lists and re-watches, instead of seeing a broken chunked response.
        res.end();
        sink?.end().catch(() => undefined);
      } else res.destroy();
    });
    res.on('close', () => {
      transform?.close();
      if (!ures.complete) ures.destroy();
    });
  }

  /** exec/attach/port-forward (SPDY, WebSocket): after the 101 both sides are one raw byte pipe. */
  tunnel(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    unreachable: Unreachable,
    ownCredentials = false,
  ): void {
    const servers = this.upstream.order();
    if (servers.length === 0) {
      unreachable('no API server configured');
      return;
    }
    const headers = outgoingHeaders(req, false);
    headers.connection = 'Upgrade';
    headers.upgrade = req.headers.upgrade ?? '';
    this.tunnelTo(servers, 0, req, socket, head, headers, unreachable, ownCredentials);
  }

  /**
   * Tunnels through `servers[at]`. Until a server answers, nothing has reached the client, so one that
   * cannot be reached is marked failed and the next is tried (as forward() does for reads).
   */
  private tunnelTo(
    servers: URL[],
    at: number,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    headers: OutgoingHttpHeaders,
    unreachable: Unreachable,
    ownCredentials: boolean,
  ): void {
    const server = servers[at] as URL;
    const creq = this.upstream.request(server, {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers,
      ownCredentials: ownCredentials || req.headers.authorization !== undefined,
    });
    let answered = false;
    const onClientError = (): void => {
      creq.destroy();
    };
    socket.on('error', onClientError);
    creq.on('error', (err) => {
      this.upstream.markFailed(server);
      if (!answered && at + 1 < servers.length && !socket.destroyed) {
        socket.off('error', onClientError);
        this.tunnelTo(servers, at + 1, req, socket, head, headers, unreachable, ownCredentials);
      } else unreachable(err.message);
    });
    creq.on('upgrade', (ures, usocket, uhead) => {
      answered = true;
      const lines = [`HTTP/1.1 ${ures.statusCode ?? 101} ${ures.statusMessage ?? 'Switching Protocols'}`];
      for (let i = 0; i < ures.rawHeaders.length; i += 2)
        lines.push(`${ures.rawHeaders[i]}: ${ures.rawHeaders[i + 1]}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (uhead.length) socket.write(uhead);
      if (head.length) usocket.write(head);
      usocket.on('data', (c: Buffer) => {
        this.upstream.bytesIn += c.length;
      });
      socket.on('data', (c: Buffer) => {
        this.upstream.bytesOut += c.length;
      });
      usocket.pipe(socket);
      socket.pipe(usocket);
      usocket.on('error', () => socket.destroy());
      socket.on('error', () => usocket.destroy());
      usocket.on('close', () => socket.destroy());
      socket.on('close', () => usocket.destroy());
    });
    // The server refused the upgrade (403, 404, 400): relay its answer as a plain response.
    creq.on('response', (ures) => {
      answered = true;
      const lines = [`HTTP/1.1 ${ures.statusCode} ${ures.statusMessage ?? ''}`];
      // The body is re-sent whole with its own length below: a second Content-Length breaks clients.
      for (const [k, v] of Object.entries(responseHeaders(ures)))
        if (k !== 'content-length') lines.push(`${k}: ${String(v)}`);
      const chunks: Buffer[] = [];
      ures.on('data', (c: Buffer) => chunks.push(c));
      ures.on('end', () => {
        const body = Buffer.concat(chunks);
        lines.push(`content-length: ${body.length}`, 'connection: close');
        socket.end(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), body]));
      });
    });
    creq.end();
  }
}

/** Answers on a raw upgrade socket when the cloud is unreachable. */
export function refuseUpgrade(socket: Duplex, message: string): void {
  const body = JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    status: 'Failure',
    reason: 'ServiceUnavailable',
    code: 503,
    message,
  });
  socket.end(
    `HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

export { sendStatus };
