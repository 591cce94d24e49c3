import { describe, expect, it } from 'vitest';
import { REQUEST_SCHEMAS } from '../ipc/contract.ts';

// What the renderer may send for provisioning: references, never secrets; names and addresses
// that cannot smuggle shell syntax or paths.
describe('provisioning request validators', () => {
  const addHost = REQUEST_SCHEMAS['hosts:add'];
  const base = {
    site: 'site-a',
    name: 'edge-1',
    address: '198.18.0.10',
    user: 'root',
    auth: { kind: 'key', privateKeyRef: 'vault:ssh-private-key/lab' },
  };

  it('accepts a host with a key, a password or the agent, and a jump host', () => {
    expect(addHost(base).ok).toBe(true);
    expect(addHost({ ...base, auth: { kind: 'password', passwordRef: 'vault:ssh-password/op' } }).ok).toBe(
      true,
    );
    expect(addHost({ ...base, auth: { kind: 'agent' }, jumpHostId: 'site-a/gw', port: 2222 }).ok).toBe(true);
  });

  it('refuses secrets in place of references, and references of the wrong kind', () => {
    const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----';
    expect(addHost({ ...base, auth: { kind: 'key', privateKeyRef: key } }).ok).toBe(false);
    expect(addHost({ ...base, auth: { kind: 'password', passwordRef: 'hunter2' } }).ok).toBe(false);
    expect(addHost({ ...base, auth: { kind: 'password', passwordRef: 'vault:ssh-private-key/x' } }).ok).toBe(
      false,
    );
    expect(
      addHost({ ...base, auth: { kind: 'key', privateKeyRef: 'vault:ssh-private-key/x', password: 'p' } }).ok,
    ).toBe(false);
  });

  it('refuses addresses, users and names carrying shell syntax or options', () => {
    expect(addHost({ ...base, address: '198.18.0.10; rm -rf /' }).ok).toBe(false);
    expect(addHost({ ...base, address: '-oProxyCommand' }).ok).toBe(false);
    expect(addHost({ ...base, user: 'root@evil' }).ok).toBe(false);
    expect(addHost({ ...base, name: '../etc' }).ok).toBe(false);
  });

  it('accepts a host key only as a SHA256 fingerprint', () => {
    const accept = REQUEST_SCHEMAS['hosts:acceptHostKey'];
    const k = { host: '198.18.0.10', port: 22, keyType: 'ssh-ed25519', fingerprint: 'SHA256:abcDEF012+/xyz' };
    expect(accept(k).ok).toBe(true);
    expect(accept({ ...k, fingerprint: 'MD5:aa:bb' }).ok).toBe(false);
  });

  it('join takes a bootstrap-token reference, not a token', () => {
    const join = REQUEST_SCHEMAS['provision:join'];
    const j = {
      clusterId: 'imported-ab/lab',
      hostIds: ['site-a/edge-1'],
      bootstrapTokenRef: 'vault:bootstrap-token/t1',
    };
    expect(join(j).ok).toBe(true);
    expect(join({ ...j, bootstrapTokenRef: 'abcdef.0123456789abcdef' }).ok).toBe(false);
  });

  it('tunnel access takes certificates and a key reference, never a private key', () => {
    const set = REQUEST_SCHEMAS['tunnels:set'];
    const cert = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ0FfY2VydA==\n-----END CERTIFICATE-----\n';
    const t = {
      site: 'site-a',
      door: { host: 'tunnel.example', port: 10264 },
      caPem: cert,
      certPem: cert,
      keyRef: 'vault:tunnel-client-key/site-a',
    };
    expect(set(t).ok).toBe(true);
    expect(set({ ...t, serverName: 'edgefleet-tunnel-server' }).ok).toBe(true);
    const key = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMG\n-----END PRIVATE KEY-----\n';
    expect(set({ ...t, certPem: key }).ok).toBe(false);
    expect(set({ ...t, certPem: `${cert}${key}` }).ok).toBe(false);
    expect(set({ ...t, keyRef: key }).ok).toBe(false);
    expect(set({ ...t, keyRef: 'vault:ssh-private-key/x' }).ok).toBe(false);
    expect(set({ ...t, door: { host: 'tunnel.example; rm -rf /', port: 10264 } }).ok).toBe(false);
    expect(set({ ...t, key: 'inline' }).ok).toBe(false);
  });
});
