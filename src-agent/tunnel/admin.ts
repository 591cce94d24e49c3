import http from 'node:http';
import { splitHostPort } from '../api/tunnel-config.ts';
import type { Registry } from '../metrics/registry.ts';
import type { Logger } from './log.ts';

/**
 * Loopback-only plain HTTP of a tunnel role: /metrics, /v1/healthz, and JSON status documents
 * (the server's /v1/agents as TunnelServerStatus).
 */
export class AdminEndpoint {
  private readonly server: http.Server;

  constructor(metrics: Registry, status: Readonly<Record<string, () => unknown>> = {}) {
    const paths = ['/metrics', ...Object.keys(status), '/v1/healthz'].join(', ');
    this.server = http.createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const doc = status[path];
      if (req.method !== 'GET') {
        res.writeHead(405, { 'content-type': 'text/plain' }).end('GET only\n');
      } else if (path === '/metrics') {
        metrics.render().then(
          (text) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(text),
          (err: Error) =>
            res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`),
        );
      } else if (doc) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc()));
      } else if (path === '/v1/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: try ${paths}\n`);
      }
    });
  }

  async listen(address: string, log: Logger): Promise<number> {
    const { host, port } = splitHostPort(address);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    const a = this.server.address();
    const bound = typeof a === 'object' && a ? a.port : port;
    log.info('tunnel admin endpoint listening', { address: `${host}:${bound}` });
    return bound;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
