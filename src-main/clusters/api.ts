/**
 * Minimal JSON request / streaming-watch client on top of a KubeConfig (also the write path of
 * src-main/fleet). We do our own list/watch (not
 * client-node's informer) to control pagination, bookmarks, 410 handling, stall detection and
 * to tell 403/404 apart per resource.
 */
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** The API server could not be reached or the exchange broke (as opposed to an HTTP status). */
export class NetworkError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NetworkError';
  }
}

export interface ApiResponse {
  status: number;
  body: unknown;
}

async function prepare(kc: KubeConfig, path: string): Promise<{ url: URL; options: https.RequestOptions }> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new NetworkError('the current context has no cluster');
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  const options: https.RequestOptions = { method: 'GET', headers: { Accept: 'application/json' } };
  // Adds CA, client cert/key, bearer token (running exec plugins when needed) and a cached agent.
  await kc.applyToHTTPSOptions(options);
  if (url.protocol === 'http:') delete options.agent;
  return { url, options };
}

function send(url: URL, options: https.RequestOptions, signal: AbortSignal): http.ClientRequest {
  const mod = url.protocol === 'http:' ? http : https;
  return mod.request(url, { ...options, signal });
}

function bodyText(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export interface JsonRequest {
  method?: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** Sent as JSON (JSON is valid YAML, so server-side apply bodies go the same way). */
  body?: unknown;
  /** Default application/json; merge patches and server-side apply name their own. */
  contentType?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** One request with the KubeConfig's credentials; any HTTP status resolves, only a broken exchange rejects. */
export async function requestJson(kc: KubeConfig, path: string, req: JsonRequest = {}): Promise<ApiResponse> {
  const { url, options } = await prepare(kc, path);
  const method = req.method ?? 'GET';
  const timeoutMs = req.timeoutMs ?? 30_000;
  const timeout = AbortSignal.timeout(timeoutMs);
  const both = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
  const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
  options.method = method;
  if (payload) {
    options.headers = {
      ...options.headers,
      'Content-Type': req.contentType ?? 'application/json',
      'Content-Length': payload.length,
    };
  }
  return new Promise((resolve, reject) => {
    const r = send(url, options, both);
    r.on('response', (res) => {
      bodyText(res).then(
        (text) => resolve({ status: res.statusCode ?? 0, body: parseJson(text) }),
        (e) => reject(new NetworkError(`reading ${path}: ${(e as Error).message}`, { cause: e })),
      );
    });
    r.on('error', (e) => {
      const why = timeout.aborted ? `no answer within ${timeoutMs} ms` : (e as Error).message;
      reject(new NetworkError(`${method} ${url.origin}${path}: ${why}`, { cause: e }));
    });
    r.end(payload);
  });
}

export function getJson(
  kc: KubeConfig,
  path: string,
  signal: AbortSignal,
  timeoutMs = 30_000,
): Promise<ApiResponse> {
  return requestJson(kc, path, { signal, timeoutMs });
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Record<string, unknown>;
}

export interface WatchHandlers {
  /** Called once when the server answered 200 (the watch is live). */
  onOpen(): void;
  /** Return false to end the watch here (e.g. after an ERROR event); the promise then resolves null. */
  onEvent(e: WatchEvent): boolean | undefined;
  /** Called on every received chunk (events or bookmarks); feeds the stall watchdog. */
  onActivity(): void;
}

/**
 * Runs one watch request until the server closes it (normal, e.g. timeoutSeconds) or it fails.
 * Non-200 answers resolve with the status and body so callers can handle 403/404/410.
 */
export async function watchStream(
  kc: KubeConfig,
  path: string,
  signal: AbortSignal,
  handlers: WatchHandlers,
): Promise<ApiResponse | null> {
  const { url, options } = await prepare(kc, path);
  return new Promise((resolve, reject) => {
    const req = send(url, options, signal);
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        bodyText(res).then(
          (text) => resolve({ status: res.statusCode ?? 0, body: parseJson(text) }),
          (e) => reject(new NetworkError(`watch ${path}: ${(e as Error).message}`, { cause: e })),
        );
        return;
      }
      handlers.onOpen();
      let buffer = '';
      let done = false;
      const finish = (error?: Error) => {
        if (done) return;
        done = true;
        res.removeAllListeners('data');
        // Teardown we asked for: late errors from destroying the socket carry no information.
        res.on('error', () => {});
        req.on('error', () => {});
        req.destroy();
        if (error) reject(error);
        else resolve(null);
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        handlers.onActivity();
        buffer += chunk;
        let nl = buffer.indexOf('\n');
        while (nl >= 0 && !done) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line) {
            let event: WatchEvent;
            try {
              event = JSON.parse(line) as WatchEvent;
            } catch (e) {
              finish(new Error(`bad watch event JSON from ${path}: ${(e as Error).message}`));
              return;
            }
            if (handlers.onEvent(event) === false) finish();
          }
          nl = buffer.indexOf('\n');
        }
      });
      res.on('end', () => resolve(null));
      res.on('error', (e) => reject(new NetworkError(`watch ${path} broke: ${e.message}`, { cause: e })));
      res.on('aborted', () => reject(new NetworkError(`watch ${path} aborted`)));
    });
    req.on('error', (e) =>
      reject(new NetworkError(`watch ${url.origin}${path}: ${(e as Error).message}`, { cause: e })),
    );
    req.end();
  });
}
