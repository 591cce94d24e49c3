import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { CacheManager, CacheSink } from './cache-manager.ts';
import { sendStatus } from './k8s-status.ts';
import type { Logger } from './log.ts';
import type { RequestInfo } from './request-info.ts';
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
}

/** The cloud could not be reached before any response byte was sent: the caller may serve locally. */
export type Unreachable = (reason: string) => void;

function outgoingHeaders(req: IncomingMessage, cacheable: boolean): OutgoingHttpHeaders {
  const h: OutgoingHttpHeaders = {};
  const connectionTokens = String(req.headers.connection ?? '')
    .split(',')
    .map((t) => t.trim().toLowerCase());
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || connectionTokens.includes(k)) continue;
    h[k] = v;
  }
  // Only JSON can be teed into the cache; protobuf-preferring clients (kubelet) are asked for JSON.
  if (cacheable) h.accept = 'application/json';
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

  constructor(upstream: Upstream, cache: CacheManager, log: Logger) {
    this.upstream = upstream;
    this.cache = cache;
    this.log = log;
  }

  /** Ends every proxied watch cleanly (the client sees a normal end of stream and re-lists). */
  endWatches(): void {
    for (const end of [...this.watches]) end();
  }

  get openWatches(): number {
    return this.watches.size;
  }

  forward(f: ForwardRequest, unreachable: Unreachable): void {
    const { req, res, info } = f;
    const servers = this.upstream.order();
    // Only requests whose body we hold (or that have none) can be retried on another server.
    const retryable = f.body !== undefined || req.method === 'GET' || req.method === 'HEAD';
    const attempt = (i: number): void => {
      const server = servers[i];
      if (!server) {
        unreachable('no API server answered');
        return;
      }
      const headers = outgoingHeaders(req, f.cacheable);
      if (f.body) headers['content-length'] = f.body.length;
      const creq = this.upstream.request(server, {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers,
        ownCredentials: req.headers.authorization !== undefined,
      });
      let answered = false;
      const fail = (err: Error): void => {
        if (answered) return;
        answered = true;
        this.upstream.markFailed(server);
        this.log.warn('proxy.upstream_failed', {
          server: server.origin,
          path: info.path,
          error: err.message,
        });
        if (retryable && i + 1 < servers.length && !res.destroyed) attempt(i + 1);
        else unreachable(err.message);
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
      creq.on('error', (err) => {
        clearTimeout(headerTimer);
        fail(err);
      });
      // The client went away: stop the upstream request too (a watch would otherwise leak).
      res.on('close', () => {
        if (!res.writableFinished) creq.destroy();
      });
      creq.on('response', (ures) => {
        clearTimeout(headerTimer);
        answered = true;
        this.upstream.markOk(server);
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
    res.writeHead(status, responseHeaders(ures));
    // Watches must reach the client event by event, not when a buffer fills.
    if (info.verb === 'watch') res.flushHeaders();
    const isWatch = info.verb === 'watch' && status === 200;
    let ended = false;
    const endClean = (): void => {
      if (ended) return;
      ended = true;
      this.watches.delete(endClean);
      ures.destroy();
      if (!res.writableEnded) res.end();
    };
    if (isWatch) this.watches.add(endClean);
    ures.on('data', (c: Buffer) => {
      this.upstream.bytesIn += c.length;
      sink?.write(c);
      if (!res.write(c)) {
        ures.pause();
        res.once('drain', () => ures.resume());
      }
    });
    ures.on('end', () => {
      this.watches.delete(endClean);
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
      ended = true;
      if (isWatch) {
        // The API server went away mid-watch (restart, link cut): end the stream cleanly so the
        // client re-lists and re-watches, instead of seeing a broken chunked response.
        res.end();
        sink?.end().catch(() => undefined);
      } else res.destroy();
    });
    res.on('close', () => {
      if (!ures.complete) ures.destroy();
    });
  }

  /** exec/attach/port-forward (SPDY, WebSocket): after the 101 both sides are one raw byte pipe. */
  tunnel(req: IncomingMessage, socket: Duplex, head: Buffer, unreachable: Unreachable): void {
    const server = this.upstream.order()[0];
    if (!server) {
      unreachable('no API server configured');
      return;
    }
    const headers = outgoingHeaders(req, false);
    headers.connection = 'Upgrade';
    headers.upgrade = req.headers.upgrade ?? '';
    const creq = this.upstream.request(server, {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers,
      ownCredentials: req.headers.authorization !== undefined,
    });
    socket.on('error', () => creq.destroy());
    creq.on('error', (err) => {
      this.upstream.markFailed(server);
      unreachable(err.message);
    });
    creq.on('upgrade', (ures, usocket, uhead) => {
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
      const lines = [`HTTP/1.1 ${ures.statusCode} ${ures.statusMessage ?? ''}`];
      for (const [k, v] of Object.entries(responseHeaders(ures))) lines.push(`${k}: ${String(v)}`);
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
