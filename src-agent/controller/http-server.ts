/** /healthz, /readyz and /metrics for probes and Prometheus. */
import http from 'node:http';
import type { Metrics } from './metrics.ts';

export interface HealthSource {
  /** Informers synced and workers running (or standing by as a non-leader). */
  healthy(): boolean;
  /** Finished reconciles of one key by one controller; undefined for an unknown controller. */
  reconciles?(controller: string, key: string): number | undefined;
}

export function parseAddr(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  const host = addr.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0';
  const port = Number(addr.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`invalid listen address "${addr}" (expected host:port, e.g. 127.0.0.1:10271)`);
  }
  return { host, port };
}

export async function startHttpServer(
  addr: string,
  metrics: Metrics,
  health: HealthSource,
): Promise<http.Server> {
  const { host, port } = parseAddr(addr);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://controller');
    const path = url.pathname;
    if (path === '/debug/reconciles') {
      // Per-key counts would be unbounded label cardinality in /metrics; tests ask for one key.
      const n = health.reconciles?.(
        url.searchParams.get('controller') ?? '',
        url.searchParams.get('key') ?? '',
      );
      if (n === undefined) res.writeHead(404).end('unknown controller\n');
      else res.writeHead(200, { 'content-type': 'text/plain' }).end(`${n}\n`);
    } else if (path === '/healthz' || path === '/readyz') {
      const ok = health.healthy();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'not ready\n');
    } else if (path === '/metrics') {
      metrics.render().then(
        (text) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(text),
        (e: Error) =>
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${e.message}\n`),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`cannot listen on ${addr}: ${e.message}`)));
    server.listen(port, host, resolve);
  });
  return server;
}
