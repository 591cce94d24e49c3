import * as http from 'node:http';
import * as https from 'node:https';
import * as tls from 'node:tls';
import type { UpstreamStrategy } from '../api/hub-config.ts';

/** PEM material for talking to the API servers. */
export interface UpstreamCredentials {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** An API server could not be reached or answered garbage; carries which server and a hint. */
export class UpstreamError extends Error {
  readonly server: string;
  readonly code: string;
  constructor(server: string, code: string, message: string) {
    super(`API server ${server}: ${message}`);
    this.name = 'UpstreamError';
    this.server = server;
    this.code = code;
  }
}

export interface UpstreamRequest {
  method: string;
  path: string;
  headers: http.OutgoingHttpHeaders;
  /** Requests that carry their own Authorization go without the node certificate, or the cert would win. */
  ownCredentials?: boolean;
  /** A new connection rather than a pooled one (a retry after a pooled one was found closed). */
  fresh?: boolean;
}

/** How long a server that failed is skipped before being tried again. */
const FAIL_BACKOFF_MS = 5_000;

/**
 * The API servers and how to reach them: picks one per request (round-robin, or the first healthy in
 * priority order) and keeps two connection pools — one presenting the node certificate, one presenting
 * none for requests that bring their own bearer token.
 */
export class Upstream {
  private readonly servers: URL[];
  private readonly strategy: UpstreamStrategy;
  private readonly failedUntil = new Map<string, number>();
  private next = 0;
  private certAgent: https.Agent | undefined;
  private anonAgent: https.Agent | undefined;
  private readonly plainAgent = new http.Agent({ keepAlive: true });
  /** Bytes received from the cloud, for the uplink metric. */
  bytesIn = 0;
  bytesOut = 0;

  constructor(servers: string[], strategy: UpstreamStrategy, creds: UpstreamCredentials) {
    this.servers = servers.map((s) => new URL(s));
    this.strategy = strategy;
    this.setCredentials(creds);
  }

  /**
   * Swaps the client certificate (after rotation); requests in flight keep their connections.
   * One TLS context per identity, shared by all its connections: given PEM options instead, Node
   * parses the CA, certificate and key and builds a context with its own trust store for every new
   * connection — each long watch holding one.
   */
  setCredentials(creds: UpstreamCredentials): void {
    // Plain-HTTP API servers (tests, local setups) need no TLS material, so none is parsed.
    if (!this.servers.some((s) => s.protocol === 'https:')) return;
    const old = [this.certAgent, this.anonAgent];
    let withCert: tls.SecureContext;
    let anonymous: tls.SecureContext;
    try {
      withCert = tls.createSecureContext({ ca: creds.ca, cert: creds.cert, key: creds.key });
      anonymous = tls.createSecureContext({ ca: creds.ca });
    } catch (err) {
      // Callers keep the previous credentials on this error (rotation) or fail start-up with it.
      throw new UpstreamError(
        '(all)',
        'ETLSCONFIG',
        `cannot use the CA, client certificate and key: ${(err as Error).message} (does the key match the certificate?)`,
      );
    }
    this.certAgent = new https.Agent({ keepAlive: true, secureContext: withCert });
    this.anonAgent = new https.Agent({ keepAlive: true, secureContext: anonymous });
    for (const a of old) a?.destroy();
  }

  /** Servers in the order to try them for one request. */
  order(): URL[] {
    const now = Date.now();
    const ok = (u: URL) => (this.failedUntil.get(u.origin) ?? 0) <= now;
    let list = this.servers;
    if (this.strategy === 'round-robin') {
      const start = this.next++ % list.length;
      list = [...list.slice(start), ...list.slice(0, start)];
    }
    return [...list.filter(ok), ...list.filter((u) => !ok(u))];
  }

  markFailed(server: URL): void {
    this.failedUntil.set(server.origin, Date.now() + FAIL_BACKOFF_MS);
  }

  markOk(server: URL): void {
    this.failedUntil.delete(server.origin);
  }

  /** Starts a request to one server; the caller writes the body and handles 'response'/'upgrade'. */
  request(server: URL, r: UpstreamRequest): http.ClientRequest {
    const opts: https.RequestOptions = {
      protocol: server.protocol,
      hostname: server.hostname,
      port: server.port,
      method: r.method,
      path: r.path,
      headers: { ...r.headers, host: server.host },
    };
    if (server.protocol === 'http:')
      return http.request({ ...opts, agent: r.fresh ? false : this.plainAgent });
    // setCredentials made both agents, as this server is https.
    const agent = (r.ownCredentials ? this.anonAgent : this.certAgent) as https.Agent;
    // Upgrades take the socket over for good; give them a fresh connection with the same TLS identity.
    if (r.headers.upgrade || r.fresh) {
      const fresh: https.RequestOptions & Pick<tls.ConnectionOptions, 'secureContext'> = {
        ...opts,
        agent: false,
        secureContext: agent.options.secureContext,
      };
      return https.request(fresh);
    }
    return https.request({ ...opts, agent });
  }

  /** A small JSON round trip (lease, journal replay), trying servers in order; bodies are buffered. */
  async json(
    method: string,
    path: string,
    body?: unknown,
    timeoutMs = 5_000,
  ): Promise<{ status: number; body: unknown }> {
    const ct = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
    return this.jsonRaw(method, path, body === undefined ? undefined : JSON.stringify(body), ct, timeoutMs);
  }

  /**
   * As json(), with a body already serialized in a given content type — journal replay sends the
   * client's own bytes (protobuf included) with its Content-Type (and Content-Encoding, if any).
   */
  async jsonRaw(
    method: string,
    path: string,
    body: string | Buffer | undefined,
    contentType: string,
    timeoutMs = 5_000,
    extraHeaders: http.OutgoingHttpHeaders = {},
  ): Promise<{ status: number; body: unknown }> {
    let last: Error | undefined;
    for (const server of this.order()) {
      try {
        const res = await this.once(server, method, path, body, contentType, timeoutMs, extraHeaders);
        this.markOk(server);
        return res;
      } catch (err) {
        this.markFailed(server);
        last = err as Error;
      }
    }
    throw last ?? new UpstreamError('(none)', 'ENOSERVER', 'no API servers configured');
  }

  private once(
    server: URL,
    method: string,
    path: string,
    body: string | Buffer | undefined,
    contentType: string,
    timeoutMs: number,
    extraHeaders: http.OutgoingHttpHeaders = {},
  ): Promise<{ status: number; body: unknown }> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : body;
      const headers: http.OutgoingHttpHeaders = {
        accept: 'application/json',
        'user-agent': 'edgefleet-hub',
        ...extraHeaders,
      };
      if (payload) {
        headers['content-type'] = contentType;
        headers['content-length'] = payload.length;
      }
      const req = this.request(server, { method, path, headers });
      const timer = setTimeout(
        () => req.destroy(new UpstreamError(server.origin, 'ETIMEDOUT', `no answer in ${timeoutMs} ms`)),
        timeoutMs,
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(
          err instanceof UpstreamError
            ? err
            : new UpstreamError(server.origin, err.code ?? 'EIO', err.message),
        );
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => {
          this.bytesIn += c.length;
          chunks.push(c);
        });
        res.on('error', (err) => {
          clearTimeout(timer);
          reject(new UpstreamError(server.origin, 'EIO', err.message));
        });
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            // Non-JSON bodies (plain-text errors) are passed up as the raw string.
          }
          // 5xx from an apiserver that is shutting down counts as unreachable for health purposes.
          if ((res.statusCode ?? 0) >= 500) {
            reject(
              new UpstreamError(
                server.origin,
                `HTTP${res.statusCode}`,
                `answered ${res.statusCode}: ${text.slice(0, 200)}`,
              ),
            );
            return;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      });
      if (payload) {
        this.bytesOut += payload.length;
        req.end(payload);
      } else req.end();
    });
  }

  close(): void {
    this.certAgent?.destroy();
    this.anonAgent?.destroy();
    this.plainAgent.destroy();
  }
}
