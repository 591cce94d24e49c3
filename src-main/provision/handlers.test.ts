import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventMap } from '../ipc/contract.ts';
import { Vault } from '../vault/vault.ts';
import { ProvisionService } from './handlers.ts';

async function service() {
  const dir = await mkdtemp(join(tmpdir(), 'ef-prov-handlers-'));
  const data = new Map<string, string>();
  const vault = await Vault.open({
    loadKeychain: async () => ({
      getPassword: async (_s, a) => data.get(a) ?? null,
      setPassword: async (_s, a, p) => void data.set(a, p),
      deletePassword: async (_s, a) => data.delete(a),
      findCredentials: async () => [],
    }),
  });
  const events: { channel: keyof EventMap; payload: unknown }[] = [];
  const svc = new ProvisionService({
    vault,
    emit: (channel, payload) => events.push({ channel, payload }),
    dataDir: dir,
    resourcesDir: dir,
    kubeConfigFor: async () => {
      throw new Error('no cluster in this test');
    },
    log: () => undefined,
  });
  return { dir, svc, events };
}

describe('provisioning handlers', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('stores the SSH key in the vault and only its reference in hosts.json', async () => {
    const s = await service();
    dir = s.dir;
    const h = s.svc.handlers();
    const key =
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAsecretsecretsecret\n-----END OPENSSH PRIVATE KEY-----\n';
    const { ref } = await h['vault:storeSecret']({ kind: 'ssh-private-key', id: 'edge-1', value: key });
    expect(ref).toBe('vault:ssh-private-key/edge-1');
    const added = await h['hosts:add']({
      site: 'site-a',
      name: 'edge-1',
      address: '198.18.0.10',
      user: 'root',
      auth: { kind: 'key', privateKeyRef: ref },
    });
    expect(added).toMatchObject({ id: 'site-a/edge-1', port: 22 });
    const file = await readFile(join(dir, 'hosts.json'), 'utf8');
    expect(file).toContain(ref);
    expect(file).not.toContain('secretsecret');
    await expect(
      h['hosts:add']({
        site: 'site-a',
        name: 'edge-2',
        address: 'x',
        user: 'root',
        auth: { kind: 'agent' },
        jumpHostId: 'site-a/nope',
      }),
    ).rejects.toThrow(/not registered/);
  });

  it('accepts only a host key that the host actually presented', async () => {
    const s = await service();
    dir = s.dir;
    await expect(
      s.svc.acceptHostKey({
        host: '198.18.0.10',
        port: 22,
        keyType: 'ssh-ed25519',
        fingerprint: 'SHA256:forged',
      }),
    ).rejects.toThrow(/did not present/);
    expect(await s.svc.knownHosts.get('198.18.0.10', 22)).toBeUndefined();
  });
});

describe('hosts reached through the EdgeFleet tunnel', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const cert = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ0FfY2VydA==\n-----END CERTIFICATE-----\n';
  const keyPem =
    '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHsecretsecret\n-----END PRIVATE KEY-----\n';

  it('keeps the site tunnel access with the key in the vault only, and uses it for via-tunnel hosts', async () => {
    const s = await service();
    dir = s.dir;
    const h = s.svc.handlers();
    const ssh = await h['vault:storeSecret']({ kind: 'ssh-private-key', id: 'k', value: 'x' });
    const host = {
      site: 'site-a',
      address: '10.0.0.3',
      user: 'root',
      auth: { kind: 'key' as const, privateKeyRef: ssh.ref },
    };
    await h['hosts:add']({ ...host, name: 'edge-3', viaTunnel: true });
    await h['hosts:add']({ ...host, name: 'edge-4', address: '10.0.0.4', jumpHostId: 'site-a/edge-3' });
    // No tunnel access for the site yet: said before any connection is tried.
    await expect(s.svc.checkHostKey('site-a/edge-3')).rejects.toMatchObject({
      code: 'provision/no-tunnel-profile',
    });
    const { ref } = await h['vault:storeSecret']({ kind: 'tunnel-client-key', id: 'site-a', value: keyPem });
    // A door where nothing listens: the error names it, for the host and for a host behind it as jump host.
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    await h['tunnels:set']({
      site: 'site-a',
      door: { host: '127.0.0.1', port },
      caPem: cert,
      certPem: cert,
      keyRef: ref,
    });
    expect(await h['tunnels:list'](undefined)).toHaveLength(1);
    const file = await readFile(join(dir, 'hosts.json'), 'utf8');
    expect(file).toContain(ref);
    expect(file).not.toContain('secretsecret');
    for (const id of ['site-a/edge-3', 'site-a/edge-4'])
      await expect(s.svc.checkHostKey(id)).rejects.toMatchObject({
        message: expect.stringContaining(`tunnel access door 127.0.0.1:${port}`),
      });
    await h['tunnels:remove']({ site: 'site-a' });
    expect(await h['tunnels:list'](undefined)).toEqual([]);
  });

  it('refuses a host marked both via tunnel and behind a jump host', async () => {
    const s = await service();
    dir = s.dir;
    const h = s.svc.handlers();
    const base = { site: 'site-a', address: '10.0.0.3', user: 'root', auth: { kind: 'agent' as const } };
    await h['hosts:add']({ ...base, name: 'gw' });
    await expect(
      h['hosts:add']({ ...base, name: 'edge-3', viaTunnel: true, jumpHostId: 'site-a/gw' }),
    ).rejects.toMatchObject({ code: 'hosts/tunnel-and-jump' });
  });
});

describe('provisioning event batching', () => {
  it('sends one progress event per window, coalesced per host and step, and caps log lines', async () => {
    const { EventBatcher } = await import('./handlers.ts');
    const sent: { channel: string; payload: unknown }[] = [];
    const b = new EventBatcher((channel, payload) => sent.push({ channel, payload }), 30, 5);
    for (let i = 0; i <= 100; i++)
      for (const host of ['a', 'b'])
        b.addProgress({
          runId: 'r',
          host,
          step: 'upload',
          stepIndex: 2,
          stepCount: 9,
          status: 'running',
          percent: i,
        });
    for (let i = 0; i < 12; i++) b.addLog({ runId: 'r', host: 'a', at: '', stream: 'info', line: `l${i}` });
    await new Promise((r) => setTimeout(r, 80));
    expect(sent.map((s) => s.channel)).toEqual(['provision:progress', 'provision:log']);
    const progress = sent[0]?.payload as { items: { host: string; percent: number }[] };
    expect(progress.items.map((p) => [p.host, p.percent])).toEqual([
      ['a', 100],
      ['b', 100],
    ]);
    const log = sent[1]?.payload as { lines: { line: string }[]; omitted?: number };
    expect(log.lines.map((l) => l.line)).toEqual(['l0', 'l1', 'l2', 'l3', 'l4']);
    expect(log.omitted).toBe(7);
  });
});
