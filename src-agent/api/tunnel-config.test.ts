import { describe, expect, it } from 'vitest';
import {
  nodeNameFromCommonName,
  parseTunnelAgentConfig,
  parseTunnelServerConfig,
  TunnelConfigError,
} from './tunnel-config.ts';

const tls = { certFile: '/c', keyFile: '/k', caFile: '/ca' };

describe('tunnel config', () => {
  it('agent: fills defaults', () => {
    const c = parseTunnelAgentConfig(
      { nodeName: 'edge-a', servers: ['tunnel.example:10262'], tls },
      'a.yaml',
    );
    expect(c.dialAddress).toBe('127.0.0.1');
    expect(c.timings.pingIntervalMs + c.timings.pingTimeoutMs).toBeLessThanOrEqual(10_000);
    expect(c.allowedPorts).toEqual([]);
  });

  it('agent: names the bad field and the fix', () => {
    expect(() => parseTunnelAgentConfig({ nodeName: 'Edge_A', servers: ['x:1'], tls }, 'a.yaml')).toThrow(
      /a.yaml: nodeName must be a Kubernetes node name/,
    );
    expect(() => parseTunnelAgentConfig({ nodeName: 'e', servers: [], tls }, 'a.yaml')).toThrow(
      TunnelConfigError,
    );
    expect(() =>
      parseTunnelAgentConfig({ nodeName: 'e', servers: ['x:1'], tls, allowedPorts: [0] }, 'a.yaml'),
    ).toThrow(/allowedPorts/);
    expect(() =>
      parseTunnelAgentConfig(
        { nodeName: 'e', servers: ['x:1'], tls, timings: { pingIntervalMs: 8000, pingTimeoutMs: 5000 } },
        'a.yaml',
      ),
    ).toThrow(/within 10 s/);
  });

  it('server: plain CONNECT and admin only on loopback', () => {
    expect(() => parseTunnelServerConfig({ tls, egress: { tcp: '0.0.0.0:10263' } }, 's', 'h')).toThrow(
      /egress.tcp without egress.auth/,
    );
    expect(() => parseTunnelServerConfig({ tls, admin: { listen: '0.0.0.0:10265' } }, 's', 'h')).toThrow(
      /admin.listen must be a loopback/,
    );
    const c = parseTunnelServerConfig(
      { tls, egress: { uds: '/run/x.sock' }, admin: { listen: '127.0.0.1:10265' } },
      's',
      'h',
    );
    expect(c.serverId).toBe('h');
    expect(c.egress?.allowedPorts).toEqual([10250, 22, 9100]);
  });

  it('server: nodeAddresses needs a kubeconfig path', () => {
    expect(parseTunnelServerConfig({ tls }, 's.yaml', 'h').nodeAddresses).toBeUndefined();
    expect(
      parseTunnelServerConfig({ tls, nodeAddresses: { kubeconfig: '/etc/k.conf' } }, 's.yaml', 'h')
        .nodeAddresses,
    ).toEqual({ kubeconfig: '/etc/k.conf' });
    expect(() => parseTunnelServerConfig({ tls, nodeAddresses: {} }, 's.yaml', 'h')).toThrow(
      /nodeAddresses.kubeconfig must be a non-empty string/,
    );
  });

  it('node identity is CN system:node:<name>', () => {
    expect(nodeNameFromCommonName('system:node:edge-a')).toBe('edge-a');
    expect(nodeNameFromCommonName('edge-a')).toBeNull();
    expect(nodeNameFromCommonName('system:node:')).toBeNull();
    expect(nodeNameFromCommonName('system:node:Bad_Name')).toBeNull();
  });
});
