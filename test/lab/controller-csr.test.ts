/**
 * The csrapprover controller against a real kube-apiserver + kube-controller-manager: nodes (client
 * certificates CN system:node:<n>, O system:nodes) ask for kubelet-serving certificates; the
 * controller approves the ones that pass its rules and kcm's signer issues them. The controller runs
 * as its own process with only `--controllers=csrapprover`, authenticated as the shipped manifest's
 * ServiceAccount, so the manifest's RBAC (approve on the kubelet-serving signer) is proven too.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { HUB_DEFAULTS, type HubConfig } from '../../src-agent/api/hub-config.ts';
import { ensureServingCert } from '../../src-agent/hub/bootstrap.ts';
import { type AltNames, createCsr, newNodeKey } from '../../src-agent/hub/csr.ts';
import { MemoryLogger } from '../../src-agent/hub/log.ts';
import { Cluster } from './cluster.ts';
import {
  type ControllerProcess,
  controllerLeaseHolder,
  controllerServiceAccountKubeconfig,
  reconcileCount,
  reconciledAfter,
  startControllerProcess,
  until,
} from './controller-support.ts';

const SERVING = 'kubernetes.io/kubelet-serving';

interface CsrJson {
  metadata: { name: string };
  spec: { username?: string; signerName: string };
  status?: {
    certificate?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}
interface EventJson {
  type: string;
  reason: string;
  message: string;
  involvedObject: { kind: string; name: string };
}

describe('csrapprover: kubelet-serving CSRs of nodes, approved by rule', () => {
  let dir = '';
  let cluster: Cluster | undefined;
  let controller: ControllerProcess | undefined;
  /** node name → kubeconfig authenticating as that node. */
  const nodeKubeconfig = new Map<string, string>();
  const c = () => cluster as Cluster;
  const kubectl = (args: string[], input?: string) => c().kubectl(args, input ? { input } : {});
  const csrOf = (name: string) => c().kubectlJson<CsrJson>(['get', 'csr', name]);
  const conditionOf = async (name: string) => (await csrOf(name)).status?.conditions?.[0];

  /** A Node object as kubelet would register it, with status.addresses (kubelet writes those via status). */
  async function createNode(name: string, addresses: { type: string; address: string }[]): Promise<void> {
    await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name } }),
    );
    await kubectl([
      'patch',
      'node',
      name,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { addresses } }),
    ]);
  }

  /** The node's identity, as the hub holds it after bootstrap: a client certificate CN system:node:<n>. */
  async function nodeIdentity(node: string): Promise<{ cert: string; key: string; kubeconfig: string }> {
    const paths = await c().pki.issueClientCert(`node-${node}`, `system:node:${node}`, ['system:nodes']);
    const kubeconfig = await c().pki.writeKubeconfig(join(dir, `${node}.kubeconfig`), {
      server: c().apiServerUrl,
      user: `system:node:${node}`,
      client: paths,
    });
    nodeKubeconfig.set(node, kubeconfig);
    return { ...paths, kubeconfig };
  }

  /** Creates a CSR as `asNode` (its client certificate), returning the CSR's name. */
  async function createCsrAs(
    asNode: string,
    o: { name: string; cn: string; alt: AltNames; signer?: string; usages?: string[] },
  ): Promise<string> {
    const pem = createCsr(newNodeKey().privateKey, o.cn, ['system:nodes'], o.alt);
    await c().kubectl(['create', '-f', '-'], {
      kubeconfig: nodeKubeconfig.get(asNode),
      input: JSON.stringify({
        apiVersion: 'certificates.k8s.io/v1',
        kind: 'CertificateSigningRequest',
        metadata: { name: o.name },
        spec: {
          request: Buffer.from(pem).toString('base64'),
          signerName: o.signer ?? SERVING,
          usages: o.usages ?? ['digital signature', 'server auth'],
        },
      }),
    });
    const created = await csrOf(o.name);
    expect(created.spec.username).toBe(`system:node:${asNode}`);
    return o.name;
  }

  /** Events on a CSR (cluster-scoped objects' events live in "default"). */
  async function eventsOf(csr: string): Promise<EventJson[]> {
    const list = await c().kubectlJson<{ items: EventJson[] }>([
      'get',
      'events',
      '-n',
      'default',
      `--field-selector=involvedObject.kind=CertificateSigningRequest,involvedObject.name=${csr}`,
    ]);
    return list.items;
  }
  const warningOf = (csr: string, rule: string) =>
    until(`a Warning event naming rule ${rule} on ${csr}`, 30_000, async () =>
      (await eventsOf(csr)).find((e) => e.type === 'Warning' && e.message.includes(`rule ${rule}:`)),
    );
  const metrics = async () => (await fetch(`http://127.0.0.1:${controller?.metricsPort}/metrics`)).text();
  const ctl = () => controller as ControllerProcess;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ef-controller-csr-'));
    cluster = await Cluster.start({ dir, bindAddress: '127.0.0.1' });
    const { kubeconfig: saKubeconfig } = await controllerServiceAccountKubeconfig(c(), dir);
    controller = await startControllerProcess(c(), 'csr-approver-a', saKubeconfig, [
      '--controllers=csrapprover',
    ]);
    await until('the controller to lead', 30_000, async () =>
      (await controllerLeaseHolder(c())) === 'csr-approver-a' ? true : undefined,
    );
  }, 180_000);

  afterAll(async () => {
    try {
      await cluster?.stop();
    } finally {
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  });

  test("(a) the hub's own serving request (ensureServingCert) is approved and then issued by kcm", async () => {
    const node = 'csr-a';
    const id = await nodeIdentity(node);
    await createNode(node, [
      { type: 'InternalIP', address: '198.18.0.10' },
      { type: 'Hostname', address: node },
    ]);
    // The hub keeps its client certificate next to where it will write the serving one.
    const pkiDir = join(dir, 'hub-a');
    await mkdir(pkiDir, { mode: 0o700 });
    await copyFile(id.cert, join(pkiDir, 'node.crt'));
    await copyFile(id.key, join(pkiDir, 'node.key'));
    const config: HubConfig = {
      nodeName: node,
      servers: [c().apiServerUrl],
      strategy: 'priority',
      tls: { certFile: join(pkiDir, 'node.crt'), keyFile: join(pkiDir, 'node.key'), caFile: c().caCertPath },
      proxyListen: '127.0.0.1:10261',
      adminListen: '127.0.0.1:10267',
      cacheDir: join(dir, 'hub-a', 'cache'),
      journalDir: join(dir, 'hub-a', 'journal'),
      cacheKeyFile: join(pkiDir, 'cache.key'),
      cacheAgents: [],
      heartbeatIntervalSeconds: 10,
      kubeletSilenceSeconds: 40,
      leaseDurationSeconds: 40,
      journalMaxEntries: 100,
    };
    // As Hub.startSecureProxy asks: loopback, the master-service host and the node's own address.
    const ips = ['127.0.0.1', HUB_DEFAULTS.masterService.host, '198.18.0.10'];
    const log = new MemoryLogger();
    const issued = await ensureServingCert(config, ips, log);
    const x = new X509Certificate(issued.cert);
    expect(x.subject).toContain(`CN=system:node:${node}`);
    expect(x.subject).toContain('O=system:nodes');
    expect(x.issuer).toBe(new X509Certificate(await readFile(c().caCertPath)).subject);
    expect(x.checkPrivateKey(createPrivateKey(issued.key))).toBe(true);
    const sans = (x.subjectAltName ?? '').split(', ').sort();
    expect(sans).toEqual([`DNS:${node}`, ...ips.map((ip) => `IP Address:${ip}`)].sort());

    const csrName = String(log.lines.find((l) => l.event === 'cert.csr_created')?.fields?.csr);
    const csr = await csrOf(csrName);
    expect(csr.status?.conditions?.find((k) => k.type === 'Approved')).toMatchObject({
      status: 'True',
      reason: 'EdgeFleetServingApproved',
    });
    expect(csr.status?.certificate).toBeTruthy();
    const approved = await until('a Normal event on the CSR', 15_000, async () =>
      (await eventsOf(csrName)).find((e) => e.reason === 'ServingCsrApproved'),
    );
    expect(approved.type).toBe('Normal');
    expect(await metrics()).toMatch(/^edgefleet_controller_csrapprover_approved_total [1-9]/m);
  });

  test("(b) a node asking for another node's CN is Denied, with an event naming the rule", async () => {
    const id = await nodeIdentity('csr-b');
    await createNode('csr-b', [{ type: 'InternalIP', address: '198.18.0.11' }]);
    await createNode('csr-victim', [{ type: 'InternalIP', address: '198.18.0.12' }]);
    const forVictim = {
      name: 'csr-b-for-victim',
      cn: 'system:node:csr-victim',
      alt: { dns: ['csr-victim'], ips: ['198.18.0.12'] },
    };
    // Kubernetes' NodeRestriction admission already refuses this at create time...
    await expect(createCsrAs('csr-b', forVictim)).rejects.toThrow(
      /can only create a node CSR with CN=system:node:csr-b/,
    );
    // ...but a cluster may run without it: the controller's own rule must hold there too.
    const open = await c().startExtraApiServer({
      name: 'kube-apiserver-no-noderestriction',
      withoutArgs: ['--enable-admission-plugins='],
    });
    nodeKubeconfig.set(
      'csr-b',
      await c().pki.writeKubeconfig(join(dir, 'csr-b-open.kubeconfig'), {
        server: open.url,
        user: 'system:node:csr-b',
        client: id,
      }),
    );
    const name = await createCsrAs('csr-b', forVictim);
    await c().processes.stop(open.name);
    const cond = await until('the CSR to be decided', 30_000, () => conditionOf(name));
    expect(cond).toMatchObject({ type: 'Denied', status: 'True', reason: 'EdgeFleetServingDenied' });
    expect(cond.message).toMatch(/another node/);
    const ev = await warningOf(name, 'cn-other-node');
    expect(ev.reason).toBe('ServingCsrDenied');
    expect((await csrOf(name)).status?.certificate).toBeUndefined();
    expect(await metrics()).toMatch(
      /edgefleet_controller_csrapprover_refused_total\{rule="cn-other-node",decision="denied"\} 1/,
    );
  });

  test('(c) an IP SAN the Node does not have stays Pending with an event; once the Node has it, approved', async () => {
    await nodeIdentity('csr-c');
    await createNode('csr-c', [{ type: 'InternalIP', address: '198.18.0.13' }]);
    const name = await createCsrAs('csr-c', {
      name: 'csr-c-foreign-ip',
      cn: 'system:node:csr-c',
      alt: { dns: ['csr-c'], ips: ['198.18.0.13', '198.18.0.99'] },
    });
    const ev = await warningOf(name, 'ip-san');
    expect(ev.reason).toBe('ServingCsrPending');
    expect(ev.message).toContain('198.18.0.99');
    // Seen again (a harmless label), still not decided.
    await reconciledAfter(ctl().metricsPort, 'csrapprover', name, (n) =>
      kubectl(['label', '--overwrite', 'csr', name, `test.edgefleet.io/poke=${n}`]),
    );
    expect((await csrOf(name)).status?.conditions ?? []).toEqual([]);
    // The node's address changes (e.g. a second NIC): the same CSR now passes, without being recreated.
    await kubectl([
      'patch',
      'node',
      'csr-c',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({
        status: {
          addresses: [
            { type: 'InternalIP', address: '198.18.0.13' },
            { type: 'ExternalIP', address: '198.18.0.99' },
          ],
        },
      }),
    ]);
    await until('approval after the address appeared', 30_000, async () =>
      (await conditionOf(name))?.type === 'Approved' ? true : undefined,
    );
  });

  test('(d) a CSR created before its Node registered is approved once the Node exists', async () => {
    await nodeIdentity('csr-d');
    const name = await createCsrAs('csr-d', {
      name: 'csr-d-early',
      cn: 'system:node:csr-d',
      alt: { dns: ['csr-d'], ips: ['127.0.0.1', '198.18.0.14'] },
    });
    await warningOf(name, 'node-missing');
    expect((await csrOf(name)).status?.conditions ?? []).toEqual([]);
    await createNode('csr-d', [{ type: 'InternalIP', address: '198.18.0.14' }]);
    const cert = await until(
      'the certificate to be issued',
      30_000,
      async () => (await csrOf(name)).status?.certificate,
    );
    const x = new X509Certificate(Buffer.from(cert, 'base64'));
    expect((x.subjectAltName ?? '').split(', ').sort()).toEqual(
      ['DNS:csr-d', 'IP Address:127.0.0.1', 'IP Address:198.18.0.14'].sort(),
    );
  });

  test('(e) a kube-apiserver-client CSR is left untouched (no condition, no event)', async () => {
    await nodeIdentity('csr-e');
    await createNode('csr-e', [{ type: 'InternalIP', address: '198.18.0.15' }]);
    const other = await createCsrAs('csr-e', {
      name: 'csr-e-client',
      cn: 'system:node:csr-e',
      alt: {},
      signer: 'kubernetes.io/kube-apiserver-client',
      usages: ['digital signature', 'client auth'],
    });
    // A serving CSR made after it: once that one is approved, the controller has seen both.
    const serving = await createCsrAs('csr-e', {
      name: 'csr-e-serving',
      cn: 'system:node:csr-e',
      alt: { dns: ['csr-e'] },
    });
    await until('the later serving CSR approved', 30_000, async () =>
      (await conditionOf(serving))?.type === 'Approved' ? true : undefined,
    );
    // Watch order: the controller had the client CSR before the serving one, and never queued it.
    expect(await reconcileCount(ctl().metricsPort, 'csrapprover', other)).toBe(0);
    expect(await reconcileCount(ctl().metricsPort, 'csrapprover', serving)).toBeGreaterThan(0);
    expect((await csrOf(other)).status?.conditions ?? []).toEqual([]);
    expect(await eventsOf(other)).toEqual([]);
  });
});
