import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HubMetrics } from './metrics.ts';

export interface Readiness {
  ready: boolean;
  checks: Record<string, { ok: boolean; message: string }>;
}

/** Admin endpoints as yurthub serves them: /v1/healthz, /v1/readyz, /metrics. */
export function adminHandler(metrics: HubMetrics, readiness: () => Readiness) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (path === '/v1/healthz' || path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
      return;
    }
    if (path === '/v1/readyz' || path === '/readyz') {
      const r = readiness();
      res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(r));
      return;
    }
    if (path === '/metrics') {
      metrics.render().then(
        (text) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(text),
        (err: Error) =>
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}`),
      );
      return;
    }
    res
      .writeHead(404, { 'content-type': 'text/plain' })
      .end('not found: try /v1/healthz, /v1/readyz, /metrics');
  };
}
