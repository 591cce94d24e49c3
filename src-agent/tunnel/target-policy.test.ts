import { describe, expect, it } from 'vitest';
import { parseAuthority, TargetPolicy } from './target-policy.ts';

const policy = new TargetPolicy({
  nodeName: 'edge-a',
  allowedPorts: [8443],
  dialAddress: '127.0.0.1',
  extraAddresses: ['10.0.0.9'],
  localAddresses: () => ['127.0.0.1', '192.168.7.20', 'fe80::1', '::1'],
});

describe('TargetPolicy (the agent never becomes an open proxy)', () => {
  it('dials its own node by name, loopback or own address on allowed ports', () => {
    expect(policy.decide('edge-a:10250')).toEqual({ ok: true, dialHost: '127.0.0.1', port: 10250 });
    expect(policy.decide('localhost:22')).toEqual({ ok: true, dialHost: '127.0.0.1', port: 22 });
    expect(policy.decide('192.168.7.20:9100')).toEqual({ ok: true, dialHost: '192.168.7.20', port: 9100 });
    expect(policy.decide('10.0.0.9:8443')).toEqual({ ok: true, dialHost: '10.0.0.9', port: 8443 });
  });

  it('dials a loopback-only port at the dial address whichever own address is named, never another host', () => {
    const p = new TargetPolicy({
      nodeName: 'edge-a',
      allowedPorts: [],
      loopbackPorts: [10267],
      dialAddress: '127.0.0.1',
      extraAddresses: [],
      localAddresses: () => ['127.0.0.1', '192.168.7.20'],
    });
    expect(p.decide('192.168.7.20:10267')).toEqual({ ok: true, dialHost: '127.0.0.1', port: 10267 });
    expect(p.decide('edge-a:10267')).toEqual({ ok: true, dialHost: '127.0.0.1', port: 10267 });
    expect(p.decide('192.168.7.20:10250')).toEqual({ ok: true, dialHost: '192.168.7.20', port: 10250 });
    expect(p.decide('192.168.7.21:10267').ok).toBe(false);
  });

  it('refuses other ports with the allow-list and the fix in the reason', () => {
    const d = policy.decide('edge-a:6443');
    expect(d.ok).toBe(false);
    expect(!d.ok && d.reason).toMatch(
      /port 6443 is not on node edge-a's tunnel allow-list \(10250, 22, 9100, 8443\); add it to allowedPorts/,
    );
  });

  it('refuses other hosts, even on allowed ports', () => {
    for (const t of ['192.168.7.21:22', 'edge-b:10250', 'example.com:22', '[2001:db8::1]:22']) {
      const d = policy.decide(t);
      expect(d.ok, t).toBe(false);
      expect(!d.ok && d.reason).toMatch(/is not node edge-a .*only dials its own node/);
    }
  });

  it('refuses malformed targets', () => {
    for (const t of [undefined, '', 'edge-a', 'edge-a:0', 'edge-a:70000', 'a b:22'])
      expect(policy.decide(t).ok, String(t)).toBe(false);
  });

  it('reports routable addresses without loopback or link-local', () => {
    expect(policy.routableAddresses().sort()).toEqual(['10.0.0.9', '192.168.7.20']);
  });

  it('parses bracketed IPv6 authorities', () => {
    expect(parseAuthority('[fd00::5]:22')).toEqual({ host: 'fd00::5', port: 22 });
  });
});
