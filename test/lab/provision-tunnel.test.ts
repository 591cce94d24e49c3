/**
 * Provisioning a site where one host is NAT-only: three lab hosts converted in parallel, edge-1
 * directly, edge-2 through edge-1 as jump host, edge-3 only through the EdgeFleet tunnel (the
 * app's operator access door → tunnel server → the tunnel agent on edge-3 → its sshd). The
 * kubelet on each host is the lab stand-in (test/lab/fixtures/kubelet-standin.sh, NOT a real
 * kubelet). edge-3's tunnel agent is installed and running before the app ever connects, the way
 * an installer image or an engineer's first visit leaves it (test/lab/tunnel/host-agent.ts).
 */
import { readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TunnelServerStatus } from '../../src-agent/api/tunnel-config.ts';
import type { TunnelAccessProfile } from '../../src-main/ipc/types.ts';
import { type BatchHost, formatSummary, runBatch } from '../../src-main/provision/batch.ts';
import { type ClusterAccess, kubeClusterAccess } from '../../src-main/provision/cluster-access.ts';
import { convertPlan } from '../../src-main/provision/convert.ts';
import { revertPlan } from '../../src-main/provision/revert.ts';
import { HostKeyUnknownError, SshSession, type SshTarget } from '../../src-main/provision/ssh-session.ts';
import {
  openSshThroughTunnel,
  type TunnelRoute,
  tunnelSockFor,
} from '../../src-main/provision/tunnel-access.ts';
import { installKubeletStandin, waitNodeReady } from './fixtures/kubelet-standin.ts';
import { Lab } from './lab.ts';
import { freePort, waitFor } from './proc.ts';
import { provisionKit, snapshot } from './provision-support.ts';
import { getJson, msg, type Proc, serverProc, writeJson } from './tunnel/fixtures.ts';
import { installHostTunnelAgent, TUNNEL_AGENT_UNIT } from './tunnel/host-agent.ts';

const RESOURCES = resolve(import.meta.dirname, '../../resources');
const NAT = 'edge-3';
const SITE = 'site-a';

describe('provisioning through the EdgeFleet tunnel: direct, jump host and NAT-only in one batch', () => {
  let lab: Lab;
  let kit: Awaited<ReturnType<typeof provisionKit>>;
  let cluster: ClusterAccess;
  let server: Proc | null = null;
  let adminPort = 0;
  let profile: TunnelAccessProfile;
  const before = new Map<string, string[]>();

  const direct = (name: string): SshTarget => ({
    host: lab.host(name).address,
    username: 'root',
    auth: { kind: 'key', privateKeyRef: kit.keyRef },
  });
  const route = (p: TunnelAccessProfile = profile): TunnelRoute => ({ profile: p, node: NAT, port: 22 });
  /** edge-3 as the app sees it: its registered address (not reachable from here) and its tunnel route. */
  const natHost = (): BatchHost => ({ name: NAT, target: direct(NAT), tunnel: route() });
  const agentsOnServer = async () =>
    (await getJson<TunnelServerStatus>(`http://127.0.0.1:${adminPort}/v1/agents`)).agents;
  const batchOpts = () => ({
    vault: kit.vault,
    knownHosts: kit.knownHosts,
    stateDir: kit.stateDir,
    sockFor: tunnelSockFor(kit.vault),
  });

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('lab tests need root');
    lab = await Lab.start({ hosts: 3, kwokNodes: 0 });
    kit = await provisionKit(lab);
    cluster = kubeClusterAccess(lab.kubeconfig);
    await Promise.all(lab.hosts.map((h) => installKubeletStandin(lab, h)));
    await Promise.all(lab.hosts.map((h) => waitNodeReady(lab, h.name)));

    // The tunnel server in the cloud: agents' door on the lab gateway, operator access door on loopback.
    const pki = lab.cluster.pki;
    const gateway = lab.net.gateway;
    const serverCert = await pki.issueServerCert('tunnel-server', 'edgefleet-tunnel-server', [
      gateway,
      '127.0.0.1',
    ]);
    const serverTls = { certFile: serverCert.cert, keyFile: serverCert.key, caFile: pki.ca.cert };
    const agentPort = await freePort();
    const accessPort = await freePort();
    adminPort = await freePort();
    server = serverProc(
      await writeJson(join(kit.dir, 'tunnel-server.json'), {
        serverId: 'lab',
        listen: `${gateway}:${agentPort}`,
        tls: serverTls,
        access: {
          listen: `127.0.0.1:${accessPort}`,
          auth: { tls: serverTls, allowedOrganizations: ['edgefleet:operators'], allowedCommonNames: [] },
        },
        admin: { listen: `127.0.0.1:${adminPort}` },
      }),
    );
    await server.waitFor(msg('tunnel admin endpoint listening'), 15_000);

    // edge-3 is behind NAT: it can dial the cloud, nothing can dial it. Its agent was put there beforehand.
    await lab.host(NAT).setNatOnly(true);
    await installHostTunnelAgent(lab, NAT, [`${gateway}:${agentPort}`], {
      backoff: { initialMs: 250, maxMs: 2000 },
    });
    await waitFor(
      'edge-3 tunnel agent connected',
      async () => (await agentsOnServer()).some((a) => a.node === NAT),
      {
        timeoutMs: 30_000,
      },
    );

    // The site's tunnel access as the app keeps it: certificates inline, the key only in the vault.
    const operator = await pki.issueClientCert('tunnel-operator', 'alice', ['edgefleet:operators']);
    profile = {
      site: SITE,
      door: { host: '127.0.0.1', port: accessPort },
      caPem: await readFile(pki.ca.cert, 'utf8'),
      certPem: await readFile(operator.cert, 'utf8'),
      keyRef: await kit.vault.put('tunnel-client-key', SITE, await readFile(operator.key, 'utf8')),
    };
    for (const h of lab.hosts) before.set(h.name, await snapshot(h));
  }, 300_000);

  afterAll(async () => {
    cluster?.close();
    await server?.stop().catch(() => {});
    await lab?.stop().catch((e: Error) => process.stderr.write(`lab stop: ${e.message}\n`));
    if (kit) await rm(kit.dir, { recursive: true, force: true });
  }, 120_000);

  it('edge-3 is NAT-only: its sshd cannot be dialled directly', async () => {
    const s = net.connect({ host: lab.host(NAT).address, port: 22 });
    const outcome = await new Promise<string>((done) => {
      s.once('connect', () => done('connected'));
      s.once('error', (e) => done(e.message));
      setTimeout(() => done('timeout'), 2_000);
    });
    s.destroy();
    expect(outcome).not.toBe('connected');
  });

  it('trusts each host key on first use — edge-3 presents its own fingerprint through the tunnel', async () => {
    for (const name of ['edge-1', 'edge-2', NAT]) {
      const sock = name === NAT ? await openSshThroughTunnel(route(), kit.vault) : undefined;
      const err = await SshSession.connect(direct(name), {
        vault: kit.vault,
        knownHosts: kit.knownHosts,
        ...(sock ? { sock } : {}),
      }).then(
        (s) => {
          s.close();
          throw new Error(`${name}: connected without a trusted host key`);
        },
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(HostKeyUnknownError);
      const u = err as HostKeyUnknownError;
      expect(u.fingerprint).toBe(lab.host(name).hostKeyFingerprint());
      await kit.knownHosts.trust(u.host, u.port, u.keyType, u.fingerprint);
    }
  });

  it('converts three hosts in parallel: direct, through a jump host, and NAT-only through the tunnel', async () => {
    const streamsBefore = (await agentsOnServer()).find((a) => a.node === NAT)?.streamsTotal ?? 0;
    const summary = await runBatch(
      [
        { name: 'edge-1', target: direct('edge-1') },
        { name: 'edge-2', target: { ...direct('edge-2'), jump: direct('edge-1') } },
        natHost(),
      ],
      {
        ...batchOpts(),
        plan: () =>
          convertPlan({
            cluster,
            resourcesDir: RESOURCES,
            cacheDir: kit.cacheDir,
            pool: SITE,
            autonomyDuration: '0',
          }),
        concurrency: 3,
      },
    );
    console.log(formatSummary(summary));
    expect(summary.hosts.map((h) => [h.host, h.status, h.error?.message])).toEqual([
      ['edge-1', 'done', undefined],
      ['edge-2', 'done', undefined],
      [NAT, 'done', undefined],
    ]);
    for (const name of ['edge-1', 'edge-2', NAT]) {
      const h = lab.host(name);
      expect((await h.run('systemctl is-active edgefleet-hub')).trim()).toBe('active');
      expect((await h.run('systemctl is-enabled edgefleet-hub')).trim()).toBe('enabled');
      expect(await h.run('cat /etc/kubernetes/kubelet.conf')).toContain('"server": "http://127.0.0.1:10261"');
      const ready = JSON.parse(await h.run('curl -s http://127.0.0.1:10267/v1/readyz')) as { ready: boolean };
      expect(ready.ready).toBe(true);
      // The stand-in kubelet's requests went through the hub.
      expect(await h.run('curl -s http://127.0.0.1:10267/metrics')).toMatch(
        /edgefleet_hub_requests_total\{[^}]*component="kubelet"/,
      );
      const node = await cluster.getNode(name);
      expect(node?.labels['apps.openyurt.io/nodepool']).toBe(SITE);
      expect(node?.ready?.status).toBe('True');
    }
    // The tunnel carried edge-3's SSH (one stream per connection the run made), and the jump host edge-2's.
    const streamsAfter = (await agentsOnServer()).find((a) => a.node === NAT)?.streamsTotal ?? 0;
    expect(streamsAfter).toBeGreaterThan(streamsBefore);
    // The agent put there beforehand is this very bundle and runtime: checksums match, nothing re-sent.
    expect(summary.hosts[2]?.skipped).toEqual(expect.arrayContaining(['upload-runtime', 'upload-agent']));
    const sshLog = await lab.host('edge-2').run('journalctl -u ssh --no-pager -o cat');
    expect(sshLog).toContain(`Accepted publickey for root from ${lab.host('edge-1').address}`);
    expect((await lab.host(NAT).run(`systemctl is-active ${TUNNEL_AGENT_UNIT}`)).trim()).toBe('active');
  });

  it('reverts the NAT-only host through the tunnel to byte-identical files, its tunnel agent still running', async () => {
    const summary = await runBatch([natHost()], { ...batchOpts(), plan: () => revertPlan({ cluster }) });
    console.log(formatSummary(summary));
    expect(summary.hosts[0]?.status).toBe('done');
    // The agent was there before the conversion, so it is part of "before" and keeps the site reachable.
    expect(await snapshot(lab.host(NAT))).toEqual(before.get(NAT));
    expect((await lab.host(NAT).run(`systemctl is-active ${TUNNEL_AGENT_UNIT}`)).trim()).toBe('active');
    expect((await lab.host(NAT).run('systemctl is-active edgefleet-hub || true')).trim()).not.toBe('active');
    expect((await cluster.getNode(NAT))?.labels['apps.openyurt.io/nodepool']).toBeUndefined();
    await waitNodeReady(lab, NAT);
  });

  it('with the tunnel agent stopped, edge-3 fails with "no tunnel agent connected" while the other two convert', async () => {
    // edge-1 and edge-2 back to their state before, so this batch really converts them.
    const back = await runBatch(
      ['edge-1', 'edge-2'].map((n) => ({ name: n, target: direct(n) })),
      { ...batchOpts(), plan: () => revertPlan({ cluster }), concurrency: 2 },
    );
    expect(back.counts.done).toBe(2);
    await lab.host(NAT).run(['systemctl', 'stop', TUNNEL_AGENT_UNIT]);
    await waitFor(
      'edge-3 gone from the tunnel server',
      async () => !(await agentsOnServer()).some((a) => a.node === NAT),
      {
        timeoutMs: 15_000,
      },
    );
    const natBefore = await snapshot(lab.host(NAT));
    const summary = await runBatch(
      [
        { name: 'edge-1', target: direct('edge-1') },
        { name: 'edge-2', target: { ...direct('edge-2'), jump: direct('edge-1') } },
        natHost(),
      ],
      {
        ...batchOpts(),
        plan: () => convertPlan({ cluster, resourcesDir: RESOURCES, cacheDir: kit.cacheDir, pool: 'site-b' }),
        concurrency: 3,
        // The agent may come back after a link blip, so the run retries; keep that short here.
        maxReconnects: 1,
        reconnectDelayMs: 500,
      },
    );
    const text = formatSummary(summary);
    console.log(text);
    const [r1, r2, r3] = summary.hosts;
    expect([r1?.status, r2?.status]).toEqual(['done', 'done']);
    expect(r1?.applied).toContain('start-hub');
    expect(r2?.applied).toContain('start-hub');
    // Not a change on the host: the run stopped before its first step and can be resumed later.
    expect(r3?.status).toBe('interrupted');
    expect(r3?.failedStep).toBe('preflight');
    expect(r3?.applied).toEqual([]);
    expect(r3?.error?.code).toBe('tunnel/no-agent');
    expect(r3?.error?.message).toMatch(
      /^No tunnel agent connected for edge-3: .*503 "no tunnel agent is connected for edge-3/,
    );
    expect(r3?.error?.fix).toMatch(/systemctl start edgefleet-tunnel-agent/);
    expect(text).toMatch(/^edge-3: interrupted at preflight: No tunnel agent connected for edge-3/m);
    expect(text).toMatch(/^edge-1: done/m);
    expect(text).toMatch(/^edge-2: done/m);
    for (const n of ['edge-1', 'edge-2'])
      expect((await cluster.getNode(n))?.labels['apps.openyurt.io/nodepool']).toBe('site-b');
    expect(await snapshot(lab.host(NAT))).toEqual(natBefore);

    // The agent is back: the same run resumes on edge-3 and converts it.
    await lab.host(NAT).run(['systemctl', 'start', TUNNEL_AGENT_UNIT]);
    await waitFor(
      'edge-3 back on the tunnel server',
      async () => (await agentsOnServer()).some((a) => a.node === NAT),
      {
        timeoutMs: 15_000,
      },
    );
    const resumed = await runBatch([natHost()], {
      ...batchOpts(),
      runId: summary.runId,
      plan: () => convertPlan({ cluster, resourcesDir: RESOURCES, cacheDir: kit.cacheDir, pool: 'site-b' }),
    });
    console.log(formatSummary(resumed));
    expect(resumed.hosts[0]?.status).toBe('done');
    expect((await lab.host(NAT).run('systemctl is-active edgefleet-hub')).trim()).toBe('active');
    expect((await cluster.getNode(NAT))?.labels['apps.openyurt.io/nodepool']).toBe('site-b');
  });

  it('says clearly when the access door is unreachable or refuses the operator certificate', async () => {
    const closedPort = await freePort();
    const unreachable = await openSshThroughTunnel(
      route({ ...profile, door: { host: '127.0.0.1', port: closedPort } }),
      kit.vault,
    ).catch((e: unknown) => e);
    expect(unreachable).toMatchObject({
      code: 'tunnel/door-unreachable',
      message: expect.stringMatching(
        new RegExp(`Cannot reach the tunnel access door 127\\.0\\.0\\.1:${closedPort}.*ECONNREFUSED`),
      ),
    });
    // A certificate from the cluster CA, but not in an allowed group: the door answers 403 with why.
    const stranger = await lab.cluster.pki.issueClientCert('tunnel-stranger', 'mallory', ['somebody-else']);
    const strangerProfile: TunnelAccessProfile = {
      ...profile,
      certPem: await readFile(stranger.cert, 'utf8'),
      keyRef: await kit.vault.put('tunnel-client-key', 'stranger', await readFile(stranger.key, 'utf8')),
    };
    const refused = await runBatch([{ ...natHost(), tunnel: route(strangerProfile) }], {
      ...batchOpts(),
      plan: () => revertPlan({ cluster }),
    });
    expect(refused.hosts[0]?.status).toBe('failed');
    expect(refused.hosts[0]?.error).toMatchObject({
      code: 'tunnel/refused',
      message: expect.stringMatching(
        /refused SSH to edge-3:22: client CN=mallory,O=somebody-else may not use/,
      ),
    });
  });
});
