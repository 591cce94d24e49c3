import http from 'node:http';
import { splitHostPort, type TunnelServerStatus } from '../api/tunnel-config.ts';
import type { Logger } from './log.ts';
import { renderMetrics } from './metrics.ts';
import type { TunnelServer } from './server.ts';

/** Loopback-only plain HTTP: /metrics, /v1/agents (TunnelServerStatus), /v1/healthz. */
export class AdminEndpoint {
  private readonly server: http.Server;

  constructor(tunnel: TunnelServer) {
    this.server = http.createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET') {
        res.writeHead(405, { 'content-type': 'text/plain' }).end('GET only\n');
      } else if (path === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(renderMetrics(tunnel));
      } else if (path === '/v1/agents') {
        const status: TunnelServerStatus = {
          serverId: tunnel.serverId,
          agents: tunnel.registry.all().map((e) => tunnel.registry.status(e)),
        };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(status));
      } else if (path === '/v1/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      } else {
        res
          .writeHead(404, { 'content-type': 'text/plain' })
          .end('not found: try /metrics, /v1/agents, /v1/healthz\n');
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
