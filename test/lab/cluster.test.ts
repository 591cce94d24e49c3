import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Cluster, LAB_NODE_MONITOR_GRACE_SECONDS } from './cluster.ts';
import { KWOK_POD_PLACEMENT, Kwok } from './kwok.ts';
import { kubeconfigYaml } from './pki.ts';
import { type ProcessRecord, pidRuns } from './proc.ts';
import { sh } from './sh.ts';
import { until } from './until.ts';

interface NodeCondition {
  type: string;
  status: string;
  reason?: string;
}
interface NodeJson {
  metadata: { name: string };
  spec: { podCIDR?: string };
  status: { conditions?: NodeCondition[] };
}
interface PodJson {
  metadata: { name: string };
  spec: { nodeName?: string };
  status: { phase?: string; podIP?: string };
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}
function inCidr(ip: string, cidr: string): boolean {
  const [net = '', bits = '32'] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const start = ipv4ToInt(net);
  return ipv4ToInt(ip) >= start && ipv4ToInt(ip) < start + size;
}

/** PIDs of any process whose command line mentions `needle` (our lab dir is in every argument list). */
async function processesMentioning(needle: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(needle)) found.push(Number(entry));
  }
  return found;
}

describe('lab control plane: real kube-apiserver, etcd, controller-manager, scheduler + kwok', () => {
  let dir = '';
  let cluster: Cluster | undefined;
  let kwok: Kwok;
  let kwokNodes: string[] = [];
  let recorded: ProcessRecord[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edgefleet-cluster-test-'));
    cluster = await Cluster.start({ dir, bindAddress: '127.0.0.1' });
    kwok = await Kwok.start(cluster);
    kwokNodes = await kwok.createNodes(3, { namePrefix: 'kwok-edge' });
    recorded = cluster.processes.processes.map(({ name, pid, file, args, logPath }) => ({
      name,
      pid,
      file,
      args,
      logPath,
    }));
  });

  afterAll(async () => {
    try {
      await cluster?.stop();
      // Nothing this lab started may survive: neither by recorded PID nor by anything naming its dir.
      expect(recorded.filter((r) => pidRuns(r)).map((r) => r.name)).toEqual([]);
      expect(await processesMentioning(dir)).toEqual([]);
    } finally {
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  });

  test('the API server answers kubectl and reports the pinned version', async () => {
    const c = cluster as Cluster;
    const version = JSON.parse(await c.kubectl(['version', '-o', 'json'])) as {
      serverVersion: { gitVersion: string };
      clientVersion: { gitVersion: string };
    };
    expect(version.serverVersion.gitVersion).toBe(version.clientVersion.gitVersion);
    expect(version.serverVersion.gitVersion).toMatch(/^v1\.36\.\d+$/);
    expect(c.apiServerUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  test('a Deployment applied with kubectl is scheduled onto a kwok node and its pod Runs', async () => {
    const c = cluster as Cluster;
    await c.kubectl(['create', 'namespace', 'lab-demo']);
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'lab-demo' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { ...KWOK_POD_PLACEMENT, containers: [{ name: 'web', image: 'registry.invalid/web:1' }] },
        },
      },
    };
    await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(deployment) });

    const pod = await until('the web pod to be Running', 60_000, async () => {
      const list = await c.kubectlJson<{ items: PodJson[] }>([
        '-n',
        'lab-demo',
        'get',
        'pods',
        '-l',
        'app=web',
      ]);
      return list.items.find((p) => p.status.phase === 'Running');
    });
    expect(kwokNodes).toContain(pod.spec.nodeName);

    // node-ipam gave the node a pod range and kwok took the pod's IP from it.
    const node = await until('the node to get a podCIDR', 30_000, async () => {
      const n = await c.kubectlJson<NodeJson>(['get', 'node', pod.spec.nodeName as string]);
      return n.spec.podCIDR ? n : undefined;
    });
    expect(inCidr((node.spec.podCIDR as string).split('/')[0] as string, c.podCidr)).toBe(true);
    expect(pod.status.podIP).toBeDefined();
    expect(inCidr(pod.status.podIP as string, node.spec.podCIDR as string)).toBe(true);

    const rollout = await c.kubectl([
      '-n',
      'lab-demo',
      'rollout',
      'status',
      'deployment/web',
      '--timeout=30s',
    ]);
    expect(rollout).toMatch(/successfully rolled out/);
  });

  test('a bootstrap token authenticates and its CSR for kube-apiserver-client is signed by the lab CA', async () => {
    const c = cluster as Cluster;
    const token = await c.createBootstrapToken();
    const tokenKubeconfig = join(dir, 'bootstrap.kubeconfig');
    await writeFile(
      tokenKubeconfig,
      kubeconfigYaml({ server: c.apiServerUrl, user: 'bootstrap', ca: await readFile(c.caCertPath), token }),
    );
    const whoami = JSON.parse(
      await c.kubectl(['auth', 'whoami', '-o', 'json'], { kubeconfig: tokenKubeconfig }),
    ) as {
      status: { userInfo: { username: string; groups: string[] } };
    };
    expect(whoami.status.userInfo.username).toBe(`system:bootstrap:${token.split('.')[0]}`);
    expect(whoami.status.userInfo.groups).toContain('system:bootstrappers');

    // As the hub will: key + CSR made locally, submitted with the bootstrap token, approved, signed.
    const key = join(dir, 'edge-client.key');
    const csrPem = await sh('openssl', [
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-subj',
      '/O=system:nodes/CN=system:node:kwok-edge-1',
    ]);
    const csr = {
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { name: 'edge-client' },
      spec: {
        request: Buffer.from(csrPem).toString('base64'),
        signerName: 'kubernetes.io/kube-apiserver-client',
        usages: ['digital signature', 'client auth'],
      },
    };
    await c.kubectl(['create', '-f', '-'], { input: JSON.stringify(csr), kubeconfig: tokenKubeconfig });
    await c.kubectl(['certificate', 'approve', 'edge-client']);
    const certB64 = await until('the CSR to be signed', 30_000, async () => {
      const got = await c.kubectlJson<{ status: { certificate?: string } }>(['get', 'csr', 'edge-client']);
      return got.status.certificate;
    });
    const cert = join(dir, 'edge-client.crt');
    await writeFile(cert, Buffer.from(certB64, 'base64'));
    expect(await sh('openssl', ['verify', '-CAfile', c.caCertPath, cert])).toContain(': OK');

    const nodeKubeconfig = await c.pki.writeKubeconfig(join(dir, 'edge-client.kubeconfig'), {
      server: c.apiServerUrl,
      user: 'edge',
      client: { cert, key },
    });
    const asNode = await c.kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], {
      kubeconfig: nodeKubeconfig,
    });
    expect(asNode).toBe('system:node:kwok-edge-1');
  });

  test('without its heartbeat a kwok node is marked NotReady by kube-controller-manager', async () => {
    const c = cluster as Cluster;
    const pods = await c.kubectlJson<{ items: PodJson[] }>([
      '-n',
      'lab-demo',
      'get',
      'pods',
      '-l',
      'app=web',
    ]);
    const victim = pods.items[0]?.spec.nodeName;
    expect(victim).toBeDefined();
    const ready = async (name: string) => {
      const node = await c.kubectlJson<NodeJson>(['get', 'node', name]);
      return node.status.conditions?.find((cond) => cond.type === 'Ready');
    };
    expect((await ready(victim as string))?.status).toBe('True');

    const stoppedAt = Date.now();
    await kwok.stopHeartbeat(victim as string);
    const condition = await until(
      'the node to leave Ready',
      (LAB_NODE_MONITOR_GRACE_SECONDS + 40) * 1000,
      async () => {
        const cond = await ready(victim as string);
        return cond && cond.status !== 'True' ? cond : undefined;
      },
    );
    const tookSeconds = (Date.now() - stoppedAt) / 1000;
    process.stderr.write(
      `[lab] ${victim} marked ${condition.status}/${condition.reason} ${tookSeconds.toFixed(1)} s after its heartbeat stopped\n`,
    );

    // NodeStatusUnknown is the node-lifecycle controller's verdict ("Kubelet stopped posting node status").
    expect(condition.status).toBe('Unknown');
    expect(condition.reason).toBe('NodeStatusUnknown');
    // It waited for the missed Lease renewals, i.e. this is the grace period at work, not a status write.
    expect(tookSeconds).toBeGreaterThan(LAB_NODE_MONITOR_GRACE_SECONDS / 2);

    // The other kwok nodes keep their heartbeat.
    for (const other of kwokNodes.filter((n) => n !== victim)) {
      expect((await ready(other))?.status).toBe('True');
    }

    // Heartbeat back: kwok takes the node again and it returns to Ready.
    await kwok.resumeHeartbeat(victim as string);
    await until('the node to be Ready again', 30_000, async () =>
      (await ready(victim as string))?.status === 'True' ? true : undefined,
    );
  });
});
