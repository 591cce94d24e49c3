import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TunnelConnectError } from '../../src-agent/api/tunnel-client.ts';
import type { TunnelAccessProfile } from '../ipc/types.ts';
import { isTransient } from './runner.ts';
import { openSshThroughTunnel, type TunnelRoute, tunnelFailure } from './tunnel-access.ts';

const profile: TunnelAccessProfile = {
  site: 'site-a',
  door: { host: '127.0.0.1', port: 10264 },
  caPem: '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n',
  certPem: '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n',
  keyRef: 'vault:tunnel-client-key/site-a',
};
const route: TunnelRoute = { profile, node: 'edge-3', port: 22 };
const fail = (status: number, reason: string) =>
  tunnelFailure(route, new TunnelConnectError('edge-3:22', status, reason));

describe('tunnel failures as the user reads them', () => {
  it('503: no tunnel agent connected for the node, with the server text, retried as a link problem', () => {
    const e = fail(503, 'no tunnel agent is connected for edge-3');
    expect(e.code).toBe('tunnel/no-agent');
    expect(e.message).toBe(
      'No tunnel agent connected for edge-3: the tunnel server at 127.0.0.1:10264 answered 503 "no tunnel agent is connected for edge-3"',
    );
    expect(e.fix).toMatch(/systemctl start edgefleet-tunnel-agent/);
    expect(isTransient(e)).toBe(true);
  });

  it('403: the door refused, with its reason; not retried', () => {
    const e = fail(403, 'client CN=mallory,O=x may not use the tunnel access door');
    expect(e.code).toBe('tunnel/refused');
    expect(e.message).toContain('refused SSH to edge-3:22: client CN=mallory,O=x may not use');
    expect(e.fix).toMatch(/allowedCommonNames/);
    expect(isTransient(e)).toBe(false);
  });

  it('no answer: door unreachable (retried) vs a TLS refusal (not retried)', () => {
    const down = fail(0, 'could not reach the tunnel door: connect ECONNREFUSED 127.0.0.1:10264');
    expect(down.code).toBe('tunnel/door-unreachable');
    expect(isTransient(down)).toBe(true);
    const tlsErr = fail(0, 'could not reach the tunnel door: self-signed certificate in certificate chain');
    expect(tlsErr.code).toBe('tunnel/tls-refused');
    expect(isTransient(tlsErr)).toBe(false);
  });
});

describe('openSshThroughTunnel', () => {
  let server: net.Server | undefined;
  afterEach(() => server?.close());

  it('reads the client key from the vault and reports an unreachable door with its address', async () => {
    server = net.createServer();
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((r) => server?.close(() => r()));
    const asked: string[] = [];
    const vault = {
      get: async (ref: string) => {
        asked.push(ref);
        return 'not-a-real-key';
      },
    };
    const err = await openSshThroughTunnel(
      { ...route, profile: { ...profile, door: { host: '127.0.0.1', port } } },
      vault,
      2_000,
    ).catch((e: unknown) => e);
    expect(asked).toEqual(['vault:tunnel-client-key/site-a']);
    // The TLS options are built (bad key/cert material) before the dial: either way the error names the door.
    expect((err as Error).message).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}`));
  });
});
