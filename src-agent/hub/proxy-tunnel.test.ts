import * as http from 'node:http';
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { CacheManager } from './cache-manager.ts';
import { MemoryLogger } from './log.ts';
import { ApiProxy, refuseUpgrade } from './proxy.ts';
import { Upstream } from './upstream.ts';

/** An API server stand-in that upgrades requests and echoes what comes after; pod "gone" is refused with 404. */
function echoServer(): http.Server {
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket: net.Socket) => {
    if (req.url?.includes('/pods/gone/')) {
      const body = '{"kind":"Status","code":404}';
      socket.end(
        `HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
      return;
    }
    socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    socket.on('data', (c: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), c])));
  });
  return server;
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
  );
}

/** A loopback port nothing listens on (connections are refused). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

/** Sends an upgrade request through `port`, writes "ping" once upgraded; resolves what came back. */
function upgradeThrough(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(got);
    }, 3_000);
    sock.write(
      'GET /api/v1/namespaces/default/pods/p/exec?command=sh HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
    );
    sock.on('data', (c: Buffer) => {
      got += c.toString();
      if (got.startsWith('HTTP/1.1 101') && got.includes('\r\n\r\n') && !got.includes('ping'))
        sock.write('ping');
      if (got.includes('echo:ping') || (got.includes('\r\n\r\n') && !got.startsWith('HTTP/1.1 101'))) {
        clearTimeout(timer);
        sock.destroy();
        resolve(got);
      }
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    sock.on('error', reject);
  });
}

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

/** A hub-shaped front end tunnelling upgrades through ApiProxy to `servers` in priority order. */
async function front(servers: string[]): Promise<{ port: number; upstream: Upstream }> {
  const none = Buffer.alloc(0);
  const upstream = new Upstream(servers, 'priority', { ca: none, cert: none, key: none });
  const proxy = new ApiProxy(upstream, {} as CacheManager, new MemoryLogger());
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket, head) =>
    proxy.tunnel(req, socket, head, (why) => refuseUpgrade(socket, why)),
  );
  const port = await listen(server);
  closers.push(() => {
    server.closeAllConnections();
    server.close();
    upstream.close();
  });
  return { port, upstream };
}

/** An echo API server on a free port, closed after the test. */
async function startEchoServer(): Promise<number> {
  const live = echoServer();
  const port = await listen(live);
  closers.push(() => {
    live.closeAllConnections();
    live.close();
  });
  return port;
}

describe('ApiProxy.tunnel', () => {
  it('tunnels an upgrade to the next API server when the first cannot be reached', async () => {
    const livePort = await startEchoServer();
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const { port, upstream } = await front([dead, `http://127.0.0.1:${livePort}`]);
    const got = await upgradeThrough(port);
    expect(got.startsWith('HTTP/1.1 101')).toBe(true);
    expect(got).toContain('echo:ping');
    // The unreachable one is now skipped first, as for ordinary requests.
    expect(upstream.order()[0]?.port).toBe(String(livePort));
  });

  it("relays the API server's refusal as a well-formed response", async () => {
    const livePort = await startEchoServer();
    const { port } = await front([`http://127.0.0.1:${livePort}`]);
    // Node's strict parser, like other clients, rejects a response with two Content-Length headers.
    const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port,
        path: '/api/v1/namespaces/default/pods/gone/exec?command=sh',
        headers: { connection: 'Upgrade', upgrade: 'websocket' },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('upgrade', () => reject(new Error('upgraded, expected a refusal')));
      req.on('error', reject);
      req.end();
    });
    expect(reply).toEqual({ status: 404, body: '{"kind":"Status","code":404}' });
  });

  it('refuses with 503 when no API server can be reached', async () => {
    const { port } = await front([
      `http://127.0.0.1:${await closedPort()}`,
      `http://127.0.0.1:${await closedPort()}`,
    ]);
    const got = await upgradeThrough(port);
    expect(got.startsWith('HTTP/1.1 503')).toBe(true);
    expect(got).toMatch(/ECONNREFUSED/);
  });
});
