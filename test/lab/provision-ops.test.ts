import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatSummary, runBatch } from '../../src-main/provision/batch.ts';
import { type ClusterAccess, kubeClusterAccess } from '../../src-main/provision/cluster-access.ts';
import { joinPlan } from '../../src-main/provision/join.ts';
import { revertPlan } from '../../src-main/provision/revert.ts';
import { HostKeyUnknownError, SshSession, type SshTarget } from '../../src-main/provision/ssh-session.ts';
import { upgradePlan } from '../../src-main/provision/upgrade.ts';
import { startControllerProcess, until } from './controller-support.ts';
import { type ExecPluginKubeconfig, writeExecPluginKubeconfig } from './exec-plugin.ts';
import { installKubeletStandinUnjoined } from './fixtures/kubelet-standin.ts';
import { Lab } from './lab.ts';
import { provisionKit, snapshot } from './provision-support.ts';

// Join a new node with a bootstrap token and upgrade its agent, on a real Debian host (nspawn)
// whose "kubelet" is the lab stand-in (test/lab/fixtures/kubelet-standin.sh — NOT a real
// kubelet, but it TLS-bootstraps like one: CSR with the token, certificate signed by the cluster).

const RESOURCES = resolve(import.meta.dirname, '../../resources');

/** A copy of resources/ with another agent bundle (the runtime and units are the real ones). */
async function resourcesWithAgent(dir: string, version: string, agent: string): Promise<string> {
  const root = join(dir, `resources-${version}`);
  await mkdir(join(root, 'agent'), { recursive: true });
  await symlink(join(RESOURCES, 'node'), join(root, 'node'));
  await cp(join(RESOURCES, 'systemd'), join(root, 'systemd'), { recursive: true });
  await writeFile(join(root, 'agent', 'edgefleet-agent.mjs'), agent);
  await writeFile(join(root, 'agent', 'VERSION'), `${version}\n`);
  const sum = createHash('sha256').update(agent).digest('hex');
  await writeFile(join(root, 'agent', 'SHA256SUMS'), `${sum}  edgefleet-agent.mjs\n`);
  return root;
}

/** The client certificate and key of a kubeconfig's user, as an ExecCredential status. */
function adminCredential(path: string): Record<string, string> {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  const u = kc.getCurrentUser();
  const pem = (data?: string, file?: string) =>
    data ? Buffer.from(data, 'base64').toString('utf8') : readFileSync(file ?? '', 'utf8');
  return { clientCertificateData: pem(u?.certData, u?.certFile), clientKeyData: pem(u?.keyData, u?.keyFile) };
}

describe('provisioning: join with a bootstrap token, upgrade the agent', () => {
  let lab: Lab;
  let kit: Awaited<ReturnType<typeof provisionKit>>;
  let cluster: ClusterAccess;
  let plugin: ExecPluginKubeconfig;
  let token = '';
  let tokenRef = '';
  /** The machine before the join: kubelet installed, not joined (kubelet's own state dir included). */
  let beforeJoin: string[] = [];
  const target = (): SshTarget => ({
    host: lab.host('edge-1').address,
    username: 'root',
    auth: { kind: 'key', privateKeyRef: kit.keyRef },
  });

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('lab tests need root');
    lab = await Lab.start({ hosts: 1, kwokNodes: 0 });
    kit = await provisionKit(lab);
    // Provisioning through an exec-plugin user (as SSO kubeconfigs have): the plugin hands out the
    // lab admin's client certificate, and its call log shows the app ran it.
    plugin = await writeExecPluginKubeconfig({
      dir: kit.dir,
      server: lab.cluster.apiServerUrl,
      caPem: await readFile(lab.cluster.caCertPath),
      status: adminCredential(lab.kubeconfig),
    });
    cluster = kubeClusterAccess(plugin.path);
    // Approves the hub's serving certificate for its secure proxy (kcm never approves kubelet-serving).
    await startControllerProcess(lab.cluster, 'csr-approver', lab.cluster.kubeconfigPath, [
      '--controllers=csrapprover',
    ]);
    await installKubeletStandinUnjoined(lab.host('edge-1'));
    beforeJoin = await snapshot(lab.host('edge-1'), ['/var/lib/kubelet']);
    token = await lab.cluster.createBootstrapToken({ description: 'edgefleet join test' });
    tokenRef = await kit.vault.put('bootstrap-token', 'lab-join', token);
    const err = await SshSession.connect(target(), { vault: kit.vault, knownHosts: kit.knownHosts }).then(
      (s) => {
        s.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    if (!(err instanceof HostKeyUnknownError)) throw new Error(`expected an unknown host key, got ${err}`);
    expect(err.fingerprint).toBe(lab.host('edge-1').hostKeyFingerprint());
    await kit.knownHosts.trust(err.host, err.port, err.keyType, err.fingerprint);
  });

  afterAll(async () => {
    cluster?.close();
    await lab?.stop();
    if (kit) await rm(kit.dir, { recursive: true, force: true });
  });

  const batch = <F>(
    plan: () =>
      | Promise<import('../../src-main/provision/types.ts').Plan<F>>
      | import('../../src-main/provision/types.ts').Plan<F>,
  ) =>
    runBatch([{ name: 'edge-1', target: target() }], {
      plan,
      vault: kit.vault,
      knownHosts: kit.knownHosts,
      stateDir: kit.stateDir,
    });

  /** Runs the join plan on edge-1 with the lab's bootstrap token. */
  const joinEdge = (pool?: string) =>
    batch(() =>
      joinPlan({
        cluster,
        vault: kit.vault,
        bootstrapTokenRef: tokenRef,
        resourcesDir: RESOURCES,
        cacheDir: kit.cacheDir,
        ...(pool ? { pool } : {}),
      }),
    );

  it('joins an unjoined machine: kubelet and the hub each get a cluster-signed certificate via CSR', async () => {
    const h = lab.host('edge-1');
    expect(await cluster.getNode('edge-1')).toBeUndefined();
    const summary = await joinEdge('site-j');
    console.log(formatSummary(summary));
    expect(summary.hosts.map((r) => [r.status, r.error?.message])).toEqual([['done', undefined]]);

    // kubelet's own certificate: issued by the cluster CA for system:node:edge-1.
    const ca = new X509Certificate(await readFile(lab.cluster.caCertPath));
    const kubeletPem = await h.run('cat /var/lib/kubelet/pki/kubelet-client-current.pem');
    const kubeletCert = new X509Certificate(
      /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(kubeletPem)?.[0] ?? '',
    );
    expect(kubeletCert.subject).toContain('CN=system:node:edge-1');
    expect(kubeletCert.verify(ca.publicKey)).toBe(true);
    // The hub bootstrapped its own, different certificate the same way.
    const hubCert = new X509Certificate(await h.run('cat /var/lib/edgefleet/pki/node.crt'));
    expect(hubCert.subject).toContain('CN=system:node:edge-1');
    expect(hubCert.verify(ca.publicKey)).toBe(true);
    expect(hubCert.fingerprint256).not.toBe(kubeletCert.fingerprint256);
    const csrs = await lab.cluster.kubectlJson<{
      items: {
        spec: { username: string; signerName: string };
        status?: { conditions?: { type: string }[] };
      }[];
    }>(['get', 'csr']);
    const approvedFromToken = csrs.items.filter(
      (c) =>
        c.spec.username.startsWith('system:bootstrap:') &&
        c.spec.signerName === 'kubernetes.io/kube-apiserver-client-kubelet' &&
        c.status?.conditions?.some((x) => x.type === 'Approved'),
    );
    expect(approvedFromToken.length).toBeGreaterThanOrEqual(2);

    // Joined and behind the hub, in its pool.
    expect(await h.run('cat /etc/kubernetes/kubelet.conf')).toContain('"server": "http://127.0.0.1:10261"');
    expect((await h.run('systemctl is-active edgefleet-hub kubelet')).trim()).toBe('active\nactive');
    expect(await h.run('curl -s http://127.0.0.1:10267/metrics')).toMatch(
      /edgefleet_hub_requests_total\{[^}]*component="kubelet"/,
    );
    const node = await cluster.getNode('edge-1');
    expect(node?.ready?.status).toBe('True');
    expect(node?.labels['apps.openyurt.io/nodepool']).toBe('site-j');

    // Pods' in-cluster address: the hub's secure proxy on 169.254.2.1:10268 (a dummy interface, or
    // lo on this lab kernel, which has no dummy driver), with a cluster-signed certificate for that
    // address, and kubelet told so.
    expect(await h.run('ip -4 -o addr show')).toContain('169.254.2.1/32');
    await until('the secure proxy on 169.254.2.1:10268', 90_000, async () =>
      (
        await h.exec(
          'curl -s -o /dev/null -w %{http_code} --cacert /var/lib/edgefleet/pki/ca.crt https://169.254.2.1:10268/version',
        )
      ).stdout.trim() === '200'
        ? true
        : undefined,
    );
    const svc = JSON.parse(
      await h.run(
        "curl -s -A 'kubelet/v1.36.3 (linux/amd64) kubernetes/lab' http://127.0.0.1:10261/api/v1/namespaces/default/services/kubernetes",
      ),
    ) as { spec: { clusterIP: string; ports: { name: string; port: number }[] } };
    expect(svc.spec.clusterIP).toBe('169.254.2.1');
    expect(await h.run('curl -s http://127.0.0.1:10267/metrics')).toMatch(
      /^edgefleet_hub_master_service_served 1$/m,
    );
    expect(svc.spec.ports.find((p) => p.name === 'https')?.port).toBe(10268);
  });

  it('refuses to join a machine that is already joined, changing nothing', async () => {
    const summary = await joinEdge();
    const r = summary.hosts[0];
    expect(r?.status).toBe('refused');
    expect(r?.error?.message).toMatch(/already joined/);
    expect(r?.error?.message).toMatch(/node name: a Node named "edge-1" already exists/);
    expect(r?.applied).toEqual([]);
  });

  it('upgrades the agent: new bundle sent, hub restarted on it and ready', async () => {
    const h = lab.host('edge-1');
    const original = await readFile(join(RESOURCES, 'agent', 'edgefleet-agent.mjs'), 'utf8');
    const next = await resourcesWithAgent(kit.dir, '0.1.1-test', `${original}\n// edgefleet 0.1.1-test\n`);
    const pidBefore = (await h.run('systemctl show -p MainPID --value edgefleet-hub')).trim();
    const summary = await batch(() =>
      upgradePlan({ resourcesDir: next, cacheDir: kit.cacheDir, readyTimeoutMs: 60_000, stableMs: 3_000 }),
    );
    console.log(formatSummary(summary));
    const r = summary.hosts[0];
    expect([r?.status, r?.error?.message]).toEqual(['done', undefined]);
    expect(r?.applied).toContain('upload-agent');
    // Same Node runtime: not sent again.
    expect(r?.skipped).toContain('upload-runtime');
    expect((await h.run('cat /opt/edgefleet/VERSION')).trim()).toBe('0.1.1-test');
    expect(await h.run('tail -c 30 /opt/edgefleet/agent/edgefleet-agent.mjs')).toContain('0.1.1-test');
    expect(await h.run('systemctl show -p Environment --value edgefleet-hub')).toContain(
      'EDGEFLEET_VERSION=0.1.1-test',
    );
    expect((await h.run('systemctl show -p MainPID --value edgefleet-hub')).trim()).not.toBe(pidBefore);
    expect(JSON.parse(await h.run('curl -s http://127.0.0.1:10267/v1/readyz')).ready).toBe(true);
  });

  it('rolls back to the previous agent when the upgraded hub does not become ready', async () => {
    const h = lab.host('edge-1');
    const broken = await resourcesWithAgent(
      kit.dir,
      '0.1.2-broken',
      "console.error('edgefleet 0.1.2-broken: refusing to start'); process.exit(3);\n",
    );
    const sumBefore = await h.run('sha256sum /opt/edgefleet/agent/edgefleet-agent.mjs');
    const summary = await batch(() =>
      upgradePlan({ resourcesDir: broken, cacheDir: kit.cacheDir, readyTimeoutMs: 15_000, stableMs: 3_000 }),
    );
    console.log(formatSummary(summary));
    const r = summary.hosts[0];
    expect(r?.status).toBe('failed');
    expect(r?.failedStep).toBe('restart-hub');
    expect(r?.error?.code).toBe('provision/hub-not-ready');
    expect(r?.rolledBack).toEqual(['restart-hub', 'install', 'upload-agent']);
    expect(r?.rollbackErrors).toBeUndefined();
    expect((await h.run('cat /opt/edgefleet/VERSION')).trim()).toBe('0.1.1-test');
    expect(await h.run('sha256sum /opt/edgefleet/agent/edgefleet-agent.mjs')).toBe(sumBefore);
    expect(await h.run('systemctl show -p Environment --value edgefleet-hub')).toContain(
      'EDGEFLEET_VERSION=0.1.1-test',
    );
    expect(JSON.parse(await h.run('curl -s http://127.0.0.1:10267/v1/readyz')).ready).toBe(true);
    const log = await readFile(r?.logFile ?? '', 'utf8');
    expect(log).toContain('refusing to start');
  });

  it('keeps secrets out of the run state files and logs', async () => {
    const secrets = [
      token,
      token.split('.')[1] as string,
      lab.key.privateKey.trim().split('\n')[1] as string,
    ];
    const files: string[] = [];
    const walk = async (d: string) => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        if (e.isDirectory()) await walk(join(d, e.name));
        else files.push(join(d, e.name));
      }
    };
    await walk(kit.stateDir);
    expect(files.some((f) => f.endsWith('.json'))).toBe(true);
    expect(files.some((f) => f.endsWith('.log'))).toBe(true);
    for (const f of files) {
      const text = await readFile(f, 'utf8');
      for (const s of secrets) expect(text.includes(s), `${f} holds a secret`).toBe(false);
    }
    // The token is on the node only where kubelet and the hub need it, readable by root alone.
    expect(
      await lab
        .host('edge-1')
        .run('stat -c %a /etc/kubernetes/bootstrap-kubelet.conf /var/lib/edgefleet/pki/bootstrap-token'),
    ).toBe('600\n600\n');
  });

  it('reverting the joined machine un-joins it: files as before the join, kubelet stopped, Node deleted; it can join again', async () => {
    const h = lab.host('edge-1');
    // A pod on the node: the revert drains it (Eviction API) before the Node goes. Its own grace
    // period is 0, as the stand-in kubelet runs no containers that could confirm a graceful end.
    await lab.cluster.kubectl([
      'run',
      'on-joined-node',
      '--image=registry.k8s.io/pause:3.9',
      '--restart=Never',
      '--overrides={"spec":{"nodeName":"edge-1","terminationGracePeriodSeconds":0}}',
    ]);
    const summary = await batch(() => revertPlan({ cluster }));
    console.log(formatSummary(summary));
    expect(summary.hosts.map((r) => [r.status, r.error?.message])).toEqual([['done', undefined]]);
    expect(await snapshot(h, ['/var/lib/kubelet'])).toEqual(beforeJoin);
    expect((await h.exec('systemctl is-active kubelet edgefleet-hub')).stdout.trim()).not.toMatch(
      /\bactive\b/,
    );
    expect(await cluster.getNode('edge-1')).toBeUndefined();
    expect(await h.run('ip -4 -o addr show')).not.toContain('169.254.2.1');
    const log = await readFile(summary.hosts[0]?.logFile ?? '', 'utf8');
    expect(log).toContain('EdgeFleet joined this machine as node edge-1');
    expect(log).toContain('drain edge-1: default/on-joined-node evicting');
    expect(log.indexOf('drained node edge-1')).toBeLessThan(log.indexOf('deleted Node edge-1'));
    expect((await lab.cluster.kubectl(['get', 'pod', 'on-joined-node', '--ignore-not-found'])).trim()).toBe(
      '',
    );
    // Every cluster call of join and revert went through the exec plugin's credential.
    expect((await readFile(plugin.calls, 'utf8')).split('\n')).toContain('called');

    // Back to "kubelet installed, not joined": the join plan accepts it again and it ends Ready.
    const again = await joinEdge('site-j');
    expect(again.hosts.map((r) => [r.status, r.error?.message])).toEqual([['done', undefined]]);
    expect((await cluster.getNode('edge-1'))?.ready?.status).toBe('True');
  });
});
