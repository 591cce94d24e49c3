/**
 * Minimal GET / streaming-watch client on top of a KubeConfig. We do our own list/watch (not
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

export async function getJson(
  kc: KubeConfig,
  path: string,
  signal: AbortSignal,
  timeoutMs = 30_000,
): Promise<ApiResponse> {
  const { url, options } = await prepare(kc, path);
  const timeout = AbortSignal.timeout(timeoutMs);
  const both = AbortSignal.any([signal, timeout]);
  return new Promise((resolve, reject) => {
    const req = send(url, options, both);
    req.on('response', (res) => {
      bodyText(res).then(
        (text) => resolve({ status: res.statusCode ?? 0, body: parseJson(text) }),
        (e) => reject(new NetworkError(`reading ${path}: ${(e as Error).message}`, { cause: e })),
      );
    });
    req.on('error', (e) => {
      const why = timeout.aborted ? `no answer within ${timeoutMs} ms` : (e as Error).message;
      reject(new NetworkError(`GET ${url.origin}${path}: ${why}`, { cause: e }));
    });
    req.end();
  });
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
