import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Cluster } from './cluster.ts';
import { mountPointsUnder } from './host.ts';
import { APP_IMAGE, ensureLabImages } from './images.ts';
import { KubeletNode, nodeClientCertRequest } from './kubelet.ts';
import { type HostLink, LabNetwork, listLabNetworkObjects } from './net.ts';
import { sh } from './sh.ts';
import { until } from './until.ts';

interface NodeJson {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { podCIDR?: string };
  status: {
    conditions?: { type: string; status: string }[];
    addresses?: { type: string; address: string }[];
  };
}
interface PodJson {
  spec: { nodeName?: string };
  status: { phase?: string; podIP?: string };
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}
function inCidr(ip: string, cidr: string): boolean {
  const [net = '', bits = '32'] = cidr.split('/');
  const start = ipv4ToInt(net);
  return ipv4ToInt(ip) >= start && ipv4ToInt(ip) < start + 2 ** (32 - Number(bits));
}

async function processesMentioning(needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(needle)) found.push(`${entry}: ${cmdline.replaceAll('\0', ' ').slice(0, 120)}`);
  }
  return found;
}

async function hostNetnsNames(): Promise<string[]> {
  return (await sh('ip', ['netns', 'list']))
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean);
}
async function hostLinkNames(): Promise<string[]> {
  const out = await sh('ip', ['-o', 'link', 'show']);
  return [...out.matchAll(/^\d+: ([^:@]+)[@:]/gm)].map((m) => m[1] ?? '');
}

/** Machine-wide settings kubelet would otherwise rewrite (pkg/kubelet/cm setupKernelTunables). */
async function kernelTunables(): Promise<string[]> {
  const keys = ['vm/overcommit_memory', 'vm/panic_on_oom', 'kernel/panic', 'kernel/panic_on_oops'];
  return Promise.all(keys.map(async (k) => `${k}=${(await readFile(`/proc/sys/${k}`, 'utf8')).trim()}`));
}

async function shimSockets(): Promise<string[]> {
  return existsSync('/run/containerd/s') ? await readdir('/run/containerd/s') : [];
}

const NODE = 'kube1';
const NODE2 = 'kube2';
const POD = 'lab-app';

describe('lab real kubelet node: containerd + runc + CNI in a lab network namespace', () => {
  const labId = randomBytes(2).toString('hex');
  let dir = '';
  let net: LabNetwork | undefined;
  let link: HostLink;
  let cluster: Cluster | undefined;
  let node: KubeletNode | undefined;
  let node2Dir = '';
  let shimSocketsBefore: string[] = [];
  let sysctlsBefore: string[] = [];
  let netnsBefore: string[] = [];
  let linksBefore: string[] = [];

  const cleanup = async () => {
    const errors: string[] = [];
    await node?.stop().catch((e: Error) => errors.push(e.message));
    if (node2Dir) await KubeletNode.stopFromState(node2Dir).catch((e: Error) => errors.push(e.message));
    await cluster?.stop().catch((e: Error) => errors.push(e.message));
    await net?.destroy().catch((e: Error) => errors.push(e.message));
    node = undefined;
    cluster = undefined;
    net = undefined;
    if (errors.length > 0) throw new Error(errors.join('; '));
  };

  beforeAll(async () => {
    netnsBefore = await hostNetnsNames();
    linksBefore = await hostLinkNames();
    shimSocketsBefore = await shimSockets();
    sysctlsBefore = await kernelTunables();
    // Short: containerd's socket path must fit a unix socket address.
    dir = await mkdtemp('/tmp/efk-');
    await ensureLabImages();
    net = await LabNetwork.create(labId);
    link = await net.addHost(NODE, 1);
    cluster = await Cluster.start({
      dir: join(dir, 'cluster'),
      bindAddress: net.gateway,
    });
    const req = nodeClientCertRequest(NODE);
    const cert = await cluster.pki.issueClientCert(`kubelet-${NODE}`, req.commonName, req.organizations);
    node = await KubeletNode.start({
      labDir: dir,
      name: NODE,
      link,
      apiServerUrl: cluster.apiServerUrl,
      caCertPath: cluster.caCertPath,
      credentials: { clientCert: cert },
      kubeletBin: cluster.binaries.kubelet,
      readyTimeoutMs: 180_000,
    });
  });

  afterAll(async () => {
    await cleanup().catch((e: Error) => process.stderr.write(`cleanup: ${e.message}\n`));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the node registers with its lab address and becomes Ready', async () => {
    if (!cluster) throw new Error('no cluster');
    const n = await cluster.kubectlJson<NodeJson>(['get', 'node', NODE]);
    expect(n.status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(n.status.addresses).toContainEqual({ type: 'InternalIP', address: link.address });
    expect(n.metadata.labels?.['edgefleet.io/lab-node']).toBe('kubelet');
    expect(n.spec.podCIDR).toBeDefined();
    // kubelet wants e.g. kernel.panic_on_oops=1; it must only have seen that in its own mount namespace.
    expect(await kernelTunables()).toEqual(sysctlsBefore);
  });

  test('a pod from the locally built image runs; logs and exec work through the API server', async () => {
    if (!cluster) throw new Error('no cluster');
    const c = cluster;
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: POD, namespace: 'default' },
      spec: {
        nodeSelector: { 'edgefleet.io/lab-node': 'kubelet' },
        terminationGracePeriodSeconds: 5,
        containers: [
          {
            name: 'app',
            image: APP_IMAGE,
            imagePullPolicy: 'Never',
            ports: [{ containerPort: 8080 }],
            volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }],
          },
        ],
        volumes: [{ name: 'scratch', emptyDir: { medium: 'Memory' } }],
      },
    };
    await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(pod) });
    const running = await until('the pod to run', 120_000, async () => {
      const p = await c.kubectlJson<PodJson>(['get', 'pod', POD, '-n', 'default']);
      return p.status.phase === 'Running' ? p : undefined;
    });
    expect(running.spec.nodeName).toBe(NODE);
    const n = await c.kubectlJson<NodeJson>(['get', 'node', NODE]);
    expect(inCidr(running.status.podIP ?? '', n.spec.podCIDR ?? '0.0.0.0/32')).toBe(true);

    const logs = await until('the pod log line', 30_000, async () => {
      const out = await c.kubectl(['logs', '-n', 'default', POD]);
      return out.includes('lab-app: listening on :8080') ? out : undefined;
    });
    expect(logs).toContain(`as ${POD}`);

    const echoed = await c.kubectl(['exec', '-n', 'default', POD, '--', '/lab-app', 'echo', 'exec', 'works']);
    expect(echoed.trim()).toBe('exec works');

    // Pod network: the pod reaches its own IP through the CNI bridge (hairpin), and the server logs it.
    const body = await c.kubectl([
      'exec',
      '-n',
      'default',
      POD,
      '--',
      '/lab-app',
      'get',
      running.status.podIP ?? '',
      '8080',
      '/hairpin',
    ]);
    expect(body).toContain(`lab-app ${POD} /hairpin`);
    await until('the request in the pod log', 15_000, async () =>
      (await c.kubectl(['logs', '-n', 'default', POD])).includes('GET /hairpin') ? true : undefined,
    );
  });

  test('a second node joins by TLS bootstrap; after a crash its state file is enough to clean it up', async () => {
    if (!cluster || !net) throw new Error('no cluster');
    const c = cluster;
    const token = await c.createBootstrapToken();
    const link2 = await net.addHost(NODE2, 2);
    const node2 = await KubeletNode.start({
      labDir: dir,
      name: NODE2,
      link: link2,
      apiServerUrl: c.apiServerUrl,
      caCertPath: c.caCertPath,
      credentials: { bootstrapToken: token },
      kubeletBin: c.binaries.kubelet,
      readyTimeoutMs: 180_000,
    });
    node2Dir = node2.nodeDir;
    const csrs = await c.kubectlJson<{
      items: { spec: { signerName: string; username: string }; status: { certificate?: string } }[];
    }>(['get', 'csr']);
    const clientCsr = csrs.items.find(
      (r) => r.spec.signerName === 'kubernetes.io/kube-apiserver-client-kubelet',
    );
    expect(clientCsr?.status.certificate).toBeTruthy();
    expect(clientCsr?.spec.username).toMatch(/^system:bootstrap:/);

    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'on-kube2', namespace: 'default' },
      spec: {
        nodeSelector: { 'kubernetes.io/hostname': NODE2 },
        containers: [{ name: 'app', image: APP_IMAGE, imagePullPolicy: 'Never' }],
      },
    };
    await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(pod) });
    await until('the pod on the second node to run', 120_000, async () => {
      const p = await c.kubectlJson<PodJson>(['get', 'pod', 'on-kube2', '-n', 'default']);
      return p.status.phase === 'Running' ? p : undefined;
    });

    // A crash of the lab process: the kernel SIGKILLs kubelet, containerd and the namespace
    // holder (pdeathsig); shims and pod processes survive. Only the state file is left to go on.
    const state = JSON.parse(await readFile(join(node2.nodeDir, 'kubelet-node.json'), 'utf8')) as {
      processes: { pid: number }[];
    };
    for (const p of state.processes) process.kill(p.pid, 'SIGKILL');
    await sleep(500);
    const survivors = node2.livePids();
    expect(survivors.length).toBeGreaterThan(0);

    await KubeletNode.stopFromState(node2.nodeDir);
    expect(node2.livePids()).toEqual([]);
    expect(await processesMentioning(node2.nodeDir)).toEqual([]);
    expect(mountPointsUnder(node2.nodeDir)).toEqual([]);
    expect(existsSync(join('/sys/fs/cgroup/memory', node2.cgroupRoot))).toBe(false);
    expect(await sh('ip', ['-n', link2.netns, '-o', 'link', 'show'])).not.toMatch(/cni0|veth/);
    node2Dir = '';
  });

  test('stop leaves no processes, mounts, namespaces, links or cgroups behind', async () => {
    if (!node) throw new Error('no node');
    const { nodeDir, cgroupRoot } = node;
    await cleanup();
    expect(await processesMentioning(dir)).toEqual([]);
    expect(mountPointsUnder(dir)).toEqual([]);
    expect(await listLabNetworkObjects(labId)).toEqual({ netns: [], links: [] });
    // Other labs may come and go meanwhile on this machine: look only at names that could be ours.
    const ours = (n: string) =>
      n.includes(labId) || n.startsWith('cni-') || n.startsWith('veth') || n === 'cni0';
    const newNetns = (await hostNetnsNames()).filter((n) => !netnsBefore.includes(n) && ours(n));
    expect(newNetns).toEqual([]);
    const newLinks = (await hostLinkNames()).filter((n) => !linksBefore.includes(n) && ours(n));
    expect(newLinks).toEqual([]);
    // containerd 1.6 shims listen in /run/containerd/s whatever the state dir: none of ours is left.
    expect((await shimSockets()).filter((f) => !shimSocketsBefore.includes(f))).toEqual([]);
    for (const h of ['cpu', 'memory', 'pids', 'freezer', 'devices']) {
      expect(existsSync(join('/sys/fs/cgroup', h, cgroupRoot))).toBe(false);
    }
    expect(existsSync(join(nodeDir, 'containerd'))).toBe(false);
    expect(existsSync(join(nodeDir, 'kubelet'))).toBe(false);
    // Containers were stopped with SIGTERM, not killed: the app logged its clean exit.
    const podLogDir = join(nodeDir, 'logs', 'pods');
    const appLogDir = (await readdir(podLogDir)).find((d) => d.startsWith(`default_${POD}_`)) ?? '';
    const appLog = await readFile(join(podLogDir, appLogDir, 'app', '0.log'), 'utf8');
    expect(appLog).toContain('lab-app: stopping on signal');
  });
});
