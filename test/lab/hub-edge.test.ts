import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HubConfig } from '../../src-agent/api/hub-config.ts';
import { ensureClientCert, rotationDue } from '../../src-agent/hub/bootstrap.ts';
import { Hub } from '../../src-agent/hub/hub.ts';
import { MemoryLogger } from '../../src-agent/hub/log.ts';
import { get, openWatch, until } from '../../src-agent/hub/test-support/hub-client.ts';
import type { Cluster } from './cluster.ts';
import { startControllerProcess } from './controller-support.ts';
import { selfSubjectReviewVia, startHubLabCluster } from './hub-support.ts';
import { Kwok } from './kwok.ts';
import { freePort } from './proc.ts';

/**
 * The hub's cloud-facing features against a real kube-apiserver + kube-controller-manager: bootstrap
 * certificate by CSR, secure proxy serving cert, service topology across two pools of kwok nodes,
 * central config from ConfigMaps, and the Autonomy node condition.
 */
const KUBE_PROXY = 'kube-proxy/v1.36.3 (linux/amd64) kubernetes/lab';
const POOL_A = ['pa-0', 'pa-1'];
const POOL_B = ['pb-0', 'pb-1'];
const NODE = 'pa-0';

let dir = '';
let cluster: Cluster | undefined;
let hub: Hub | undefined;
const log = new MemoryLogger();

/** RBAC an OpenYurt install grants nodes so the hub (acting as the node) can filter and read its config. */
function nodeRbac() {
  const nodes = [{ kind: 'Group', name: 'system:nodes', apiGroup: 'rbac.authorization.k8s.io' }];
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'lab:hub-nodepools' },
      rules: [{ apiGroups: ['apps.openyurt.io'], resources: ['nodepools'], verbs: ['get', 'list', 'watch'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'lab:hub-nodepools' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'lab:hub-nodepools' },
      subjects: nodes,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'lab:hub-node-proxier' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:node-proxier' },
      subjects: nodes,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'lab:hub-cfg', namespace: 'kube-system' },
      rules: [
        {
          apiGroups: [''],
          resources: ['configmaps'],
          resourceNames: ['yurt-hub-cfg', 'edgefleet-hub-pool-a'],
          verbs: ['get', 'list', 'watch'],
        },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'lab:hub-cfg', namespace: 'kube-system' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'lab:hub-cfg' },
      subjects: nodes,
    },
  ];
}

function slice(endpoints: { node: string; ip: string }[]) {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'web-manual',
      namespace: 'default',
      labels: {
        'kubernetes.io/service-name': 'web',
        'endpointslice.kubernetes.io/managed-by': 'lab.edgefleet.io',
      },
    },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
    endpoints: endpoints.map((e) => ({ addresses: [e.ip], nodeName: e.node, conditions: { ready: true } })),
  };
}

async function apply(objs: unknown[]): Promise<void> {
  await cluster?.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs }),
  });
}

async function setPoolNodes(pool: string, nodes: string[]): Promise<void> {
  await cluster?.kubectl([
    'patch',
    'nodepool',
    pool,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status: { nodes } }),
  ]);
}

beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'edgefleet-hub-edge-'));
  cluster = await startHubLabCluster(dir);
  await cluster.kubectl([
    'apply',
    '-f',
    join(import.meta.dirname, '../../resources/crds/apps.openyurt.io_nodepools.yaml'),
  ]);
  await cluster.kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/nodepools.apps.openyurt.io',
  ]);
  const kwok = await Kwok.start(cluster);
  await kwok.createNodes(2, { namePrefix: 'pa', labels: { 'apps.openyurt.io/nodepool': 'pool-a' } });
  await kwok.createNodes(2, { namePrefix: 'pb', labels: { 'apps.openyurt.io/nodepool': 'pool-b' } });
  await apply([
    ...nodeRbac(),
    ...['pool-a', 'pool-b'].map((name) => ({
      apiVersion: 'apps.openyurt.io/v1beta2',
      kind: 'NodePool',
      metadata: { name },
      spec: { type: 'Edge' },
    })),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'web',
        namespace: 'default',
        annotations: { 'openyurt.io/topologyKeys': 'openyurt.io/nodepool' },
      },
      spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
    },
    slice([...POOL_A, ...POOL_B].map((node, i) => ({ node, ip: `198.19.100.${i + 1}` }))),
  ]);
  await setPoolNodes('pool-a', POOL_A);
  await setPoolNodes('pool-b', POOL_B);
  const token = await cluster.createBootstrapToken();
  await fsp.mkdir(join(dir, 'hub', 'pki'), { recursive: true, mode: 0o700 });
  await fsp.writeFile(join(dir, 'hub', 'pki', 'bootstrap-token'), token, { mode: 0o600 });
  // kcm signs kubelet-serving CSRs but never approves them: our controller's csrapprover does,
  // by its rules (node's own name, loopback and master-service IPs), as yurt-manager would.
  await startControllerProcess(cluster, 'csr-approver', cluster.kubeconfigPath, [
    '--controllers=csrapprover',
  ]);
  const securePort = await freePort();
  const config: HubConfig = {
    nodeName: NODE,
    servers: [cluster.apiServerUrl],
    strategy: 'priority',
    tls: {
      certFile: join(dir, 'hub', 'pki', 'node.crt'),
      keyFile: join(dir, 'hub', 'pki', 'node.key'),
      caFile: cluster.caCertPath,
    },
    bootstrap: {
      tokenFile: join(dir, 'hub', 'pki', 'bootstrap-token'),
      signerName: 'kubernetes.io/kube-apiserver-client-kubelet',
    },
    proxyListen: `127.0.0.1:${await freePort()}`,
    adminListen: `127.0.0.1:${await freePort()}`,
    secureProxyListen: `127.0.0.1:${securePort}`,
    // Pods on this "node" would reach the API at the secure proxy (yurthub's 169.254.2.1 on a real node).
    masterService: { host: '127.0.0.1', port: securePort },
    cacheDir: join(dir, 'hub', 'cache'),
    journalDir: join(dir, 'hub', 'journal'),
    cacheKeyFile: join(dir, 'hub', 'pki', 'cache.key'),
    cacheAgents: [],
    heartbeatIntervalSeconds: 2,
    kubeletSilenceSeconds: 3600,
    leaseDurationSeconds: 40,
    journalMaxEntries: 1000,
  };
  hub = await Hub.start(config, { log });
}, 300_000);

afterAll(async () => {
  try {
    await hub?.close();
  } finally {
    await cluster?.stop();
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

const endpointNodes = (slices: { endpoints?: { nodeName: string }[] }[]) =>
  slices.flatMap((s) => (s.endpoints ?? []).map((e) => e.nodeName)).sort();

describe('hub against a real cluster: certificates', () => {
  it('bootstrapped its client certificate by CSR (0600, CN system:node:<node>) and heartbeats with it', async () => {
    const certFile = join(dir, 'hub', 'pki', 'node.crt');
    const st = await fsp.stat(certFile);
    expect(st.mode & 0o777).toBe(0o600);
    expect((await fsp.stat(join(dir, 'hub', 'pki', 'node.key'))).mode & 0o777).toBe(0o600);
    const x = new X509Certificate(readFileSync(certFile));
    expect(x.subject).toContain(`CN=system:node:${NODE}`);
    expect(x.subject).toContain('O=system:nodes');
    expect(hub?.isCloudHealthy()).toBe(true);
    expect(log.lines.some((l) => l.event === 'cert.bootstrapped')).toBe(true);
  });

  it('renews the client certificate with the current one once 80% of its lifetime has passed', async () => {
    const copy = join(dir, 'rotate');
    await fsp.mkdir(copy, { mode: 0o700 });
    for (const f of ['node.crt', 'node.key']) await fsp.copyFile(join(dir, 'hub', 'pki', f), join(copy, f));
    const config = {
      ...(hub as Hub).config,
      tls: {
        certFile: join(copy, 'node.crt'),
        keyFile: join(copy, 'node.key'),
        caFile: cluster?.caCertPath ?? '',
      },
      bootstrap: undefined,
    };
    const before = new X509Certificate(readFileSync(config.tls.certFile));
    const due = await rotationDue(config.tls.certFile);
    const from = Date.parse(before.validFrom);
    const to = Date.parse(before.validTo);
    expect(due?.at).toBeCloseTo(from + 0.8 * (to - from), -3);
    expect(await ensureClientCert(config, log, from + 0.5 * (to - from))).toBe('present');
    expect(await ensureClientCert(config, log, from + 0.85 * (to - from))).toBe('renewed');
    const after = new X509Certificate(readFileSync(config.tls.certFile));
    expect(after.serialNumber).not.toBe(before.serialNumber);
    expect(after.subject).toBe(before.subject);
    expect((await fsp.stat(config.tls.keyFile)).mode & 0o777).toBe(0o600);
  }, 60_000);

  it('serves the secure proxy with a cluster-signed serving cert; pods keep their own identity', async () => {
    await until(() => (hub?.secureProxyAddress ?? '') !== '', 60_000, 'secure proxy listening');
    await cluster?.kubectl(['create', 'serviceaccount', '-n', 'default', 'edge-pod']);
    const token = (await cluster?.kubectl(['create', 'token', '-n', 'default', 'edge-pod']))?.trim() ?? '';
    const who = await selfSubjectReviewVia(
      hub?.secureProxyAddress ?? '',
      token,
      readFileSync(cluster?.caCertPath ?? ''),
    );
    expect(JSON.parse(who).status.userInfo.username).toBe('system:serviceaccount:default:edge-pod');
    const csrs = await cluster?.kubectlJson<{
      items: {
        spec: { signerName: string };
        status?: { conditions?: { type: string; reason?: string }[] };
      }[];
    }>(['get', 'csr']);
    const serving = csrs?.items.filter((c) => c.spec.signerName === 'kubernetes.io/kubelet-serving') ?? [];
    expect(serving.map((c) => c.status?.conditions?.[0]?.reason)).toEqual(['EdgeFleetServingApproved']);
  });

  it('kubelet sees default/kubernetes at the secure proxy it serves; a pod using that address reaches the API', async () => {
    await until(() => (hub?.secureProxyAddress ?? '') !== '', 60_000, 'secure proxy listening');
    const kubelet = 'kubelet/v1.36.3 (linux/amd64) kubernetes/lab';
    const svc = JSON.parse(
      (await get(hub?.proxyAddress ?? '', '/api/v1/namespaces/default/services/kubernetes', kubelet)).body,
    ) as { spec: { clusterIP: string; ports: { name: string; port: number }[] } };
    const securePort = Number((hub?.secureProxyAddress ?? '').split(':').at(-1));
    expect(svc.spec.clusterIP).toBe('127.0.0.1');
    expect(svc.spec.ports.find((p) => p.name === 'https')?.port).toBe(securePort);
    // Other clients see the Service as it is.
    const direct = await cluster?.kubectlJson<{ spec: { clusterIP: string } }>([
      'get',
      'service',
      '-n',
      'default',
      'kubernetes',
    ]);
    expect(direct?.spec.clusterIP).not.toBe('127.0.0.1');
    // What client-go's in-cluster config does with KUBERNETES_SERVICE_HOST/PORT: TLS to that address,
    // verified with the cluster CA, the pod's own token.
    const token = (await cluster?.kubectl(['create', 'token', '-n', 'default', 'edge-pod']))?.trim() ?? '';
    const who = await selfSubjectReviewVia(
      `${svc.spec.clusterIP}:${svc.spec.ports.find((p) => p.name === 'https')?.port}`,
      token,
      readFileSync(cluster?.caCertPath ?? ''),
    );
    expect(JSON.parse(who).status.userInfo.username).toBe('system:serviceaccount:default:edge-pod');
  });
});

describe('hub against a real cluster: service topology', () => {
  it("kube-proxy through pool A's hub sees only pool A endpoints, before and after changes", async () => {
    const address = hub?.proxyAddress ?? '';
    const path = '/apis/discovery.k8s.io/v1/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dweb';
    const direct = await cluster?.kubectlJson<{ items: { endpoints: { nodeName: string }[] }[] }>([
      'get',
      'endpointslices',
      '-n',
      'default',
      '-l',
      'kubernetes.io/service-name=web',
      '-o',
      'json',
    ]);
    expect(endpointNodes(direct?.items ?? [])).toEqual([...POOL_A, ...POOL_B]);
    const list = await get(address, path, KUBE_PROXY);
    expect(list.status, list.body).toBe(200);
    const body = JSON.parse(list.body);
    expect(endpointNodes(body.items)).toEqual(POOL_A);
    // kubelet is not a servicetopology client: it sees everything.
    const asKubelet = JSON.parse((await get(address, path, 'kubelet/v1.36')).body);
    expect(endpointNodes(asKubelet.items)).toEqual([...POOL_A, ...POOL_B]);

    const w = openWatch(
      address,
      `${path}&watch=true&resourceVersion=${body.metadata.resourceVersion}`,
      KUBE_PROXY,
    );
    try {
      const lastNodes = () => {
        const l = w.lines.at(-1);
        return l ? endpointNodes([JSON.parse(l).object]) : [];
      };
      // Change 1: the EndpointSlice changes (pa-1 gone, a second pool-b endpoint) → still pool A only.
      await apply([
        slice([
          { node: 'pa-0', ip: '198.19.100.1' },
          { node: 'pb-0', ip: '198.19.100.3' },
          { node: 'pb-1', ip: '198.19.100.9' },
        ]),
      ]);
      await until(() => w.lines.length >= 1, 15_000, 'watch event after slice change');
      expect(lastNodes()).toEqual(['pa-0']);
      // Change 2: pool membership — pb-0 joins pool A (NodePool status) → the open watch is re-filtered.
      await setPoolNodes('pool-a', ['pa-0', 'pa-1', 'pb-0']);
      await until(() => lastNodes().includes('pb-0'), 15_000, 'watch re-filtered after pool change');
      expect(lastNodes()).toEqual(['pa-0', 'pb-0']);
      // And a fresh list agrees.
      const again = JSON.parse((await get(address, path, KUBE_PROXY)).body);
      expect(endpointNodes(again.items)).toEqual(['pa-0', 'pb-0']);
    } finally {
      w.close();
    }
  }, 60_000);
});

describe('hub against a real cluster: central config and autonomy condition', () => {
  it('a cache agent added to yurt-hub-cfg becomes cacheable without restart; pool policy applies', async () => {
    const agentPods = () =>
      hub?.storage.list('my-agent', { resource: 'nodes', version: 'v1', group: '' }) ?? [];
    await get(hub?.proxyAddress ?? '', `/api/v1/nodes/${NODE}`, 'my-agent/0.1');
    await hub?.cache.idle();
    expect(await agentPods()).toEqual([]);
    await apply([
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'yurt-hub-cfg', namespace: 'kube-system' },
        data: { cache_agents: 'my-agent' },
      },
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'edgefleet-hub-pool-a', namespace: 'kube-system' },
        data: { cacheSecrets: 'false' },
      },
    ]);
    await until(() => hub?.settings.cacheAgents.includes('my-agent') ?? false, 20_000, 'cache agent applied');
    await until(() => hub?.settings.cacheSecrets === false, 20_000, 'pool policy applied');
    const r = await get(hub?.proxyAddress ?? '', `/api/v1/nodes/${NODE}`, 'my-agent/0.1');
    expect(r.status).toBe(200);
    await hub?.cache.idle();
    expect((await agentPods()).length).toBe(1);
  }, 60_000);

  it('patches the Autonomy condition onto the node: False without the annotation, True with it', async () => {
    const condition = async () => {
      const n = await cluster?.kubectlJson<{
        status: { conditions: { type: string; status: string; reason: string }[] };
      }>(['get', 'node', NODE, '-o', 'json']);
      return n?.status.conditions.find((c) => c.type === 'Autonomy');
    };
    await until(async () => (await condition())?.status === 'False', 20_000, 'Autonomy False');
    expect((await condition())?.reason).toBe('AutonomyDisabled');
    await cluster?.kubectl(['annotate', 'node', NODE, 'node.openyurt.io/autonomy-duration=0']);
    await until(async () => (await condition())?.status === 'True', 20_000, 'Autonomy True');
    expect((await condition())?.reason).toBe('AutonomyReady');
  }, 60_000);
});
