/**
 * The controller against a real control plane (kube-apiserver, etcd, kube-controller-manager,
 * kube-scheduler) with kwok nodes: CRD interop, NodePool membership, YurtAppSet pool-by-pool
 * rollout, autonomy tolerations and leader-election failover. The controller runs as its own
 * process exactly as shipped: `node src-agent/main.ts controller ...`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Cluster } from './cluster.ts';
import {
  type ControllerProcess,
  controllerLeaseHolder,
  installCrds,
  reconciledAfter,
  startControllerProcess,
  until as untilEvery,
} from './controller-support.ts';
import { KWOK_POD_PLACEMENT, Kwok } from './kwok.ts';
import type { RunningProcess } from './proc.ts';

interface Meta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  generation?: number;
}
interface NodeJson {
  metadata: Meta;
  spec: { taints?: { key: string; value?: string; effect: string }[] };
}
interface PoolJson {
  metadata: Meta;
  status?: {
    readyNodeNum?: number;
    unreadyNodeNum?: number;
    nodes?: string[];
    conditions?: { type: string; status: string; message?: string }[];
  };
}
interface DeployJson {
  metadata: Meta;
  spec: { template: { spec: { containers: { name: string; image: string }[] } } };
  status?: {
    updatedReplicas?: number;
    availableReplicas?: number;
    replicas?: number;
    observedGeneration?: number;
  };
}
interface PodJson {
  metadata: Meta;
  spec: {
    nodeName?: string;
    containers: { image: string }[];
    tolerations?: { key?: string; effect?: string; tolerationSeconds?: number }[];
  };
  status: { phase?: string };
}
interface YasJson {
  metadata: Meta;
  status?: {
    totalWorkloads?: number;
    readyWorkloads?: number;
    updatedWorkloads?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

/** Polls every 300 ms, as this file did before the helper was shared (the others poll every 500 ms). */
const until = <T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>) =>
  untilEvery(what, timeoutMs, probe, 300);

const POOL_ANNOTATION = 'nodepool.edgefleet.io/applied';
/** Node labels/annotations without the ones kubelet/kwok/the controller manage on their own. */
function userLabels(n: NodeJson): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(n.metadata.labels ?? {})) {
    if (k.startsWith('kubernetes.io/') || k.startsWith('node-role.') || k.startsWith('kwok.') || k === 'type')
      continue;
    if (k.startsWith('beta.kubernetes.io/')) continue;
    out[k] = v;
  }
  return out;
}
function userAnnotations(n: NodeJson): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(n.metadata.annotations ?? {})) {
    if (k.includes('kubernetes.io') || k.startsWith('kwok.') || k === POOL_ANNOTATION) continue;
    out[k] = v;
  }
  return out;
}
const userTaints = (n: NodeJson) =>
  (n.spec.taints ?? [])
    .filter((t) => !t.key.startsWith('kwok.') && !t.key.startsWith('node.kubernetes.io/'))
    .map((t) => `${t.key}=${t.value ?? ''}:${t.effect}`)
    .sort();

describe('controller in the lab', () => {
  let dir = '';
  let cluster: Cluster | undefined;
  let kwok: Kwok;
  let nodes: string[] = [];
  const controllers = new Map<string, ControllerProcess>();

  const kubectl = (args: string[], input?: string) =>
    (cluster as Cluster).kubectl(args, input ? { input } : {});
  const getJson = <T>(args: string[]) => (cluster as Cluster).kubectlJson<T>(args);
  const node = (name: string) => getJson<NodeJson>(['get', 'node', name]);
  const apply = (obj: unknown) => kubectl(['apply', '-f', '-'], JSON.stringify(obj));

  async function startController(name: string): Promise<RunningProcess> {
    const c = cluster as Cluster;
    const started = await startControllerProcess(c, name, c.kubeconfigPath);
    controllers.set(name, started);
    return started.proc;
  }

  const leaseHolder = () => controllerLeaseHolder(cluster as Cluster);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ef-controller-'));
    cluster = await Cluster.start({ dir, bindAddress: '127.0.0.1', serviceCidr: '198.19.0.0/20' });
    kwok = await Kwok.start(cluster);
    await installCrds(cluster);
    nodes = await kwok.createNodes(8, { namePrefix: 'edge' });
    await startController('controller-a');
    await until('controller-a to lead', 30_000, async () =>
      (await leaseHolder()) === 'controller-a' ? true : undefined,
    );
  });

  afterAll(async () => {
    try {
      await cluster?.stop();
    } finally {
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  });

  test('CRDs accept NodePool and YurtAppSet manifests written for OpenYurt (v1beta1 and v1beta2)', async () => {
    // As in OpenYurt's docs: a v1beta1 pool with labels/annotations/taints, a v1beta2 pool, and a YurtAppSet.
    await kubectl(
      ['apply', '-f', '-'],
      `apiVersion: apps.openyurt.io/v1beta1
kind: NodePool
metadata:
  name: hangzhou
spec:
  type: Edge
  annotations:
    apps.openyurt.io/example: test-hangzhou
  labels:
    apps.openyurt.io/example: test-hangzhou
  taints:
  - key: apps.openyurt.io/example
    value: test-hangzhou
    effect: NoSchedule
---
apiVersion: apps.openyurt.io/v1beta2
kind: NodePool
metadata:
  name: beijing
spec:
  type: Cloud
  hostNetwork: false
  interConnectivity: true
  leaderElectionStrategy: mark
  leaderNodeLabelSelector:
    apps.openyurt.io/leader: "true"
  enableLeaderElection: true
  leaderReplicas: 1
  poolScopeMetadata:
  - group: discovery.k8s.io
    version: v1
    resource: endpointslices
---
apiVersion: apps.openyurt.io/v1beta1
kind: YurtAppSet
metadata:
  name: example
  namespace: default
spec:
  pools: [beijing]
  nodepoolSelector:
    matchLabels:
      yurtappset.openyurt.io/type: nginx
  workload:
    workloadTemplate:
      deploymentTemplate:
        metadata:
          labels:
            app: example
        spec:
          replicas: 2
          selector:
            matchLabels:
              app: example
          template:
            metadata:
              labels:
                app: example
            spec:
              containers:
              - image: nginx:1.19.1
                imagePullPolicy: Always
                name: nginx
    workloadTweaks:
    - pools: [hangzhou]
      tweaks:
        replicas: 3
        containerImages:
        - name: nginx
          targetImage: nginx:1.20.1
        patches:
        - path: /metadata/labels/test
          operation: add
          value: test
`,
    );
    const np = await getJson<{ items: { metadata: Meta; spec: Record<string, unknown> }[] }>(['get', 'np']);
    expect(np.items.map((i) => i.metadata.name).sort()).toEqual(
      expect.arrayContaining(['beijing', 'hangzhou']),
    );
    const hz = await getJson<{ apiVersion: string; spec: { taints: unknown[] } }>([
      'get',
      'nodepools.v1beta1.apps.openyurt.io',
      'hangzhou',
    ]);
    expect(hz.apiVersion).toBe('apps.openyurt.io/v1beta1');
    expect(hz.spec.taints).toEqual([
      { key: 'apps.openyurt.io/example', value: 'test-hangzhou', effect: 'NoSchedule' },
    ]);
    const bj = await getJson<{ spec: Record<string, unknown> }>([
      'get',
      'nodepools.v1beta2.apps.openyurt.io',
      'beijing',
    ]);
    expect(bj.spec.leaderElectionStrategy).toBe('mark');
    expect(bj.spec.interConnectivity).toBe(true);
    // Printer columns and short names work as in OpenYurt.
    const table = await kubectl(['get', 'np', 'beijing']);
    expect(table).toMatch(/NAME\s+TYPE\s+READYNODES\s+NOTREADYNODES/);
    expect(await kubectl(['get', 'yas', '-n', 'default'])).toMatch(/example/);
    // Schema validation rejects what OpenYurt's would.
    await expect(
      kubectl(
        ['apply', '-f', '-'],
        JSON.stringify({
          apiVersion: 'apps.openyurt.io/v1beta2',
          kind: 'NodePool',
          metadata: { name: 'bad' },
          spec: { type: 'Moon' },
        }),
      ),
    ).rejects.toThrow(/Unsupported value|supported values/);
    // The pool label OpenYurt puts on pools.
    await until('type label on beijing', 20_000, async () => {
      const p = await getJson<PoolJson>(['get', 'np', 'beijing']);
      return p.metadata.labels?.['nodepool.openyurt.io/type'] === 'cloud' ? true : undefined;
    });
    await kubectl(['delete', 'yas', '-n', 'default', 'example', '--wait=false']);
    await kubectl(['delete', 'np', 'beijing', 'hangzhou']);
  });

  test('pools: create, assign, change, move a node, delete — node objects end exactly as expected', async () => {
    const [n0, n1] = nodes as [string, string];
    // A foreign label with the same key as the pool's and a foreign taint: replaced, then restored.
    await kubectl(['label', 'node', n0, 'site=lab-original', 'owner=ops']);
    await kubectl(['taint', 'node', n0, 'ops/maintenance=yes:PreferNoSchedule']);
    const before0 = await node(n0);
    const before1 = await node(n1);

    await apply({
      apiVersion: 'apps.openyurt.io/v1beta2',
      kind: 'NodePool',
      metadata: { name: 'alpha' },
      spec: {
        type: 'Edge',
        labels: { site: 'alpha', tier: 'edge' },
        annotations: { 'example.com/contact': 'alpha-team' },
        taints: [{ key: 'edge/alpha', value: 'true', effect: 'NoSchedule' }],
      },
    });
    await kubectl(['label', 'node', n0, n1, 'apps.openyurt.io/nodepool=alpha']);

    const expectAlpha = (n: NodeJson, extra: Record<string, string>) => {
      expect(userLabels(n)).toEqual({
        ...extra,
        'apps.openyurt.io/nodepool': 'alpha',
        site: 'alpha',
        tier: 'edge',
      });
      expect(userAnnotations(n)).toEqual({ 'example.com/contact': 'alpha-team' });
    };
    await until('alpha applied to both members', 30_000, async () => {
      const [a, b] = [await node(n0), await node(n1)];
      return userLabels(a).tier === 'edge' && userLabels(b).tier === 'edge' && userTaints(b).length === 1
        ? true
        : undefined;
    });
    expectAlpha(await node(n0), { owner: 'ops' });
    expectAlpha(await node(n1), {});
    expect(userTaints(await node(n0))).toEqual([
      'edge/alpha=true:NoSchedule',
      'ops/maintenance=yes:PreferNoSchedule',
    ]);
    expect(userTaints(await node(n1))).toEqual(['edge/alpha=true:NoSchedule']);
    const pool = await until('alpha status', 20_000, async () => {
      const p = await getJson<PoolJson>(['get', 'np', 'alpha']);
      return p.status?.nodes?.length === 2 ? p : undefined;
    });
    expect(pool.status).toMatchObject({ readyNodeNum: 2, unreadyNodeNum: 0, nodes: [n0, n1].sort() });
    expect(pool.metadata.labels?.['nodepool.openyurt.io/type']).toBe('edge');

    // Change the pool: drop a label, change a value, swap the taint.
    await kubectl([
      'patch',
      'np',
      'alpha',
      '--type=merge',
      '-p',
      JSON.stringify({
        spec: {
          labels: { site: 'alpha-2', tier: null },
          taints: [{ key: 'edge/alpha', value: 'v2', effect: 'NoExecute' }],
        },
      }),
    ]);
    await until('alpha change applied', 30_000, async () => {
      const n = await node(n1);
      return userLabels(n).site === 'alpha-2' && userTaints(n)[0] === 'edge/alpha=v2:NoExecute'
        ? true
        : undefined;
    });
    expect(userLabels(await node(n1))).toEqual({ 'apps.openyurt.io/nodepool': 'alpha', site: 'alpha-2' });
    expect(userTaints(await node(n1))).toEqual(['edge/alpha=v2:NoExecute']);

    // Move n1 to pool beta: alpha's settings go, beta's come, nothing else changes.
    await apply({
      apiVersion: 'apps.openyurt.io/v1beta2',
      kind: 'NodePool',
      metadata: { name: 'beta' },
      spec: { type: 'Cloud', labels: { site: 'beta' } },
    });
    await kubectl(['label', '--overwrite', 'node', n1, 'apps.openyurt.io/nodepool=beta']);
    await until('n1 moved to beta', 30_000, async () => {
      const n = await node(n1);
      return userLabels(n).site === 'beta' && userTaints(n).length === 0 ? true : undefined;
    });
    const moved = await node(n1);
    expect(userLabels(moved)).toEqual({ 'apps.openyurt.io/nodepool': 'beta', site: 'beta' });
    expect(userAnnotations(moved)).toEqual({});
    await until('pool statuses after the move', 20_000, async () => {
      const a = await getJson<PoolJson>(['get', 'np', 'alpha']);
      const b = await getJson<PoolJson>(['get', 'np', 'beta']);
      return a.status?.nodes?.join() === n0 && b.status?.nodes?.join() === n1 ? true : undefined;
    });

    // Deleting a pool with members is refused with a clear condition naming the members.
    await kubectl(['delete', 'np', 'alpha', '--wait=false']);
    const blocked = await until('deletion blocked condition', 20_000, async () => {
      const p = await getJson<PoolJson>(['get', 'np', 'alpha']);
      return p.status?.conditions?.find((c) => c.type === 'DeletionBlocked' && c.status === 'True');
    });
    expect(blocked.message).toContain(n0);
    expect(await getJson<PoolJson>(['get', 'np', 'alpha'])).toBeTruthy();

    // Once the last member leaves, the pool is gone and n0 is exactly as before it joined.
    await kubectl(['label', 'node', n0, 'apps.openyurt.io/nodepool-']);
    await until('alpha deleted', 30_000, async () => {
      const out = await kubectl(['get', 'np', '--no-headers', '-o', 'name']);
      return out.includes('nodepool.apps.openyurt.io/alpha') ? undefined : true;
    });
    await until('n0 restored', 30_000, async () => {
      const n = await node(n0);
      return userLabels(n).site === 'lab-original' && !userTaints(n).includes('edge/alpha=v2:NoExecute')
        ? true
        : undefined;
    });
    const after0 = await node(n0);
    expect(userLabels(after0)).toEqual(userLabels(before0));
    expect(userAnnotations(after0)).toEqual(userAnnotations(before0));
    expect(userTaints(after0)).toEqual(userTaints(before0));
    expect(after0.metadata.annotations?.[POOL_ANNOTATION]).toBeUndefined();

    await kubectl(['label', 'node', n1, 'apps.openyurt.io/nodepool-']);
    await until('n1 restored', 30_000, async () => {
      const n = await node(n1);
      return userLabels(n).site === undefined ? true : undefined;
    });
    expect(userLabels(await node(n1))).toEqual(userLabels(before1));
    await kubectl(['delete', 'np', 'beta']);
    await kubectl(['label', 'node', n0, 'site-', 'owner-']);
    await kubectl(['taint', 'node', n0, 'ops/maintenance-']);
  });

  test('YurtAppSet across 3 pools: placement, per-pool image, pool-by-pool rollout, pause on a failing pool', async () => {
    const pools = ['p1', 'p2', 'p3'];
    const poolNodes = { p1: nodes[2], p2: nodes[3], p3: nodes[4] } as Record<string, string>;
    for (const p of pools) {
      await apply({
        apiVersion: 'apps.openyurt.io/v1beta2',
        kind: 'NodePool',
        metadata: { name: p, labels: { app: 'web' } },
        spec: { type: 'Edge' },
      });
      await kubectl([
        'label',
        '--overwrite',
        'node',
        poolNodes[p] as string,
        `apps.openyurt.io/nodepool=${p}`,
      ]);
    }
    const yas = (image: string, p2Tweaks: Record<string, unknown>) => ({
      apiVersion: 'apps.openyurt.io/v1beta1',
      kind: 'YurtAppSet',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        nodepoolSelector: { matchLabels: { app: 'web' } },
        workload: {
          workloadTemplate: {
            deploymentTemplate: {
              metadata: { labels: { app: 'web' } },
              spec: {
                replicas: 2,
                progressDeadlineSeconds: 15,
                selector: { matchLabels: { app: 'web' } },
                template: {
                  metadata: { labels: { app: 'web' } },
                  spec: { ...KWOK_POD_PLACEMENT, containers: [{ name: 'web', image }] },
                },
              },
            },
          },
          workloadTweaks: [{ pools: ['p2'], tweaks: p2Tweaks }],
        },
      },
    });
    await apply(yas('web:v1', { containerImages: [{ name: 'web', targetImage: 'web:v1-p2' }] }));

    const deployments = async () =>
      (
        await getJson<{ items: DeployJson[] }>([
          'get',
          'deploy',
          '-n',
          'default',
          '-l',
          'apps.openyurt.io/ref-yurtappset=web',
        ])
      ).items;
    await until('3 deployments ready', 90_000, async () => {
      const d = await deployments();
      return d.length === 3 && d.every((x) => x.status?.availableReplicas === 2) ? true : undefined;
    });
    const pods = (await getJson<{ items: PodJson[] }>(['get', 'pods', '-n', 'default', '-l', 'app=web']))
      .items;
    expect(pods).toHaveLength(6);
    for (const pod of pods) {
      const pool = pod.metadata.labels?.['apps.openyurt.io/pool-name'] as string;
      expect(pod.spec.nodeName).toBe(poolNodes[pool]);
      expect(pod.spec.containers[0]?.image).toBe(pool === 'p2' ? 'web:v1-p2' : 'web:v1');
    }
    for (const d of await deployments()) {
      expect(d.metadata.labels?.['apps.openyurt.io/ref-yurtappset']).toBe('web');
      expect(pools).toContain(d.metadata.labels?.['apps.openyurt.io/pool-name']);
    }
    await until('status 3/3', 30_000, async () => {
      const y = await getJson<YasJson>(['get', 'yas', '-n', 'default', 'web']);
      return y.status?.totalWorkloads === 3 &&
        y.status.readyWorkloads === 3 &&
        y.status.updatedWorkloads === 3
        ? y
        : undefined;
    });

    // Template change: record when each pool's Deployment gets the new image and when it is rolled out.
    const started = new Map<string, number>();
    const finished = new Map<string, number>();
    await apply(yas('web:v2', { containerImages: [{ name: 'web', targetImage: 'web:v2-p2' }] }));
    await until('all pools updated', 120_000, async () => {
      for (const d of await deployments()) {
        const pool = d.metadata.labels?.['apps.openyurt.io/pool-name'] as string;
        const img = d.spec.template.spec.containers[0]?.image ?? '';
        if (img.startsWith('web:v2') && !started.has(pool)) started.set(pool, Date.now());
        const done =
          img.startsWith('web:v2') &&
          (d.status?.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) &&
          d.status?.updatedReplicas === 2 &&
          d.status?.availableReplicas === 2 &&
          d.status?.replicas === 2;
        if (done && !finished.has(pool)) finished.set(pool, Date.now());
      }
      return finished.size === 3 ? true : undefined;
    });
    const order = [...started.entries()].sort((a, b) => a[1] - b[1]).map(([p]) => p);
    expect(order).toEqual(['p1', 'p2', 'p3']);
    // Strictly one after another: the next pool starts only after the previous one finished.
    expect(started.get('p2') as number).toBeGreaterThanOrEqual(finished.get('p1') as number);
    expect(started.get('p3') as number).toBeGreaterThanOrEqual(finished.get('p2') as number);

    // Break p2 (its pods cannot be scheduled anywhere) while changing the template: p1 updates,
    // p2 fails and the rollout pauses there with a condition naming it; p3 stays on v2.
    await apply(
      yas('web:v3', {
        containerImages: [{ name: 'web', targetImage: 'web:v3-p2' }],
        patches: [{ path: '/spec/template/spec/nodeSelector/broken', operation: 'add', value: 'true' }],
      }),
    );
    const paused = await until('rollout paused at p2', 120_000, async () => {
      const y = await getJson<YasJson>(['get', 'yas', '-n', 'default', 'web']);
      return y.status?.conditions?.find(
        (c) => c.type === 'RolloutProgressing' && c.reason === 'RolloutPaused',
      );
    });
    expect(paused.message).toContain('p2');
    // The paused rollout must stay paused: let the controller look at the app again (a harmless
    // annotation), then check nothing moved on.
    const leader = controllers.get('controller-a') as ControllerProcess;
    await reconciledAfter(leader.metricsPort, 'yurtappset', 'default/web', (n) =>
      kubectl(['annotate', '--overwrite', 'yas', '-n', 'default', 'web', `test.edgefleet.io/poke=${n}`]),
    );
    expect(
      (await getJson<YasJson>(['get', 'yas', '-n', 'default', 'web'])).status?.conditions?.find(
        (c) => c.type === 'RolloutProgressing',
      )?.reason,
    ).toBe('RolloutPaused');
    const images = Object.fromEntries(
      (await deployments()).map((d) => [
        d.metadata.labels?.['apps.openyurt.io/pool-name'],
        d.spec.template.spec.containers[0]?.image,
      ]),
    );
    expect(images).toEqual({ p1: 'web:v3', p2: 'web:v3-p2', p3: 'web:v2' });

    await kubectl(['delete', 'yas', '-n', 'default', 'web']);
    await until('workloads garbage-collected', 60_000, async () =>
      (await deployments()).length === 0 ? true : undefined,
    );
    for (const p of pools)
      await kubectl(['label', 'node', poolNodes[p] as string, 'apps.openyurt.io/nodepool-']);
    for (const p of pools) await kubectl(['delete', 'np', p, '--timeout=60s']);
  });

  test("autonomy: the node annotation sets pods' eviction tolerations; removing it restores the originals", async () => {
    const target = nodes[5] as string;
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'auto-pod', namespace: 'default' },
      spec: { ...KWOK_POD_PLACEMENT, nodeName: target, containers: [{ name: 'c', image: 'busybox' }] },
    });
    const tol = async () => {
      const p = await getJson<PodJson>(['get', 'pod', '-n', 'default', 'auto-pod']);
      return Object.fromEntries(
        (p.spec.tolerations ?? [])
          .filter((t) => t.effect === 'NoExecute')
          .map((t) => [t.key, t.tolerationSeconds ?? 'forever']),
      );
    };
    const original = await tol();
    expect(original['node.kubernetes.io/unreachable']).toBeTypeOf('number');
    await kubectl(['annotate', 'node', target, 'node.openyurt.io/autonomy-duration=0']);
    await until('forever tolerations', 30_000, async () => {
      const t = await tol();
      return t['node.kubernetes.io/unreachable'] === 'forever' &&
        t['node.kubernetes.io/not-ready'] === 'forever'
        ? true
        : undefined;
    });
    await kubectl(['annotate', '--overwrite', 'node', target, 'node.openyurt.io/autonomy-duration=2h']);
    await until('2h tolerations', 30_000, async () =>
      (await tol())['node.kubernetes.io/unreachable'] === 7200 ? true : undefined,
    );
    await kubectl(['annotate', 'node', target, 'node.openyurt.io/autonomy-duration-']);
    await until('restored tolerations', 30_000, async () => {
      const t = await tol();
      return JSON.stringify(t) === JSON.stringify(original) ? true : undefined;
    });
    await kubectl(['delete', 'pod', '-n', 'default', 'auto-pod', '--grace-period=0', '--force']);
  });

  test('autonomy: with autonomy-duration 0 a cut-off node keeps its pods; without it they are evicted', async () => {
    const [autoNode, plainNode] = [nodes[5] as string, nodes[7] as string];
    await kubectl(['annotate', '--overwrite', 'node', autoNode, 'node.openyurt.io/autonomy-duration=0']);
    for (const [name, nodeName] of [
      ['kept', autoNode],
      ['evicted', plainNode],
    ] as const) {
      await apply({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: 'default' },
        spec: { ...KWOK_POD_PLACEMENT, nodeName, containers: [{ name: 'c', image: 'busybox' }] },
      });
    }
    await until('kept pod tolerates forever', 30_000, async () => {
      const p = await getJson<PodJson>(['get', 'pod', '-n', 'default', 'kept']);
      const t = p.spec.tolerations?.find((x) => x.key === 'node.kubernetes.io/unreachable');
      return t && t.tolerationSeconds === undefined ? true : undefined;
    });
    try {
      await kwok.stopHeartbeat(autoNode);
      await kwok.stopHeartbeat(plainNode);
      // Lab timings: node grace 20 s, default toleration 60 s (see cluster.ts), so eviction by ~90 s.
      await until('pod on the plain node evicted', 150_000, async () => {
        const out = await kubectl([
          'get',
          'pods',
          '-n',
          'default',
          '--no-headers',
          '-o',
          'custom-columns=N:.metadata.name,D:.metadata.deletionTimestamp',
        ]);
        return /evicted/.test(out) && !/evicted\s+<none>/.test(out)
          ? true
          : out.includes('evicted')
            ? undefined
            : true;
      });
      const auto = await node(autoNode);
      expect(auto.spec.taints?.some((t) => t.key === 'node.kubernetes.io/unreachable')).toBe(true);
      const kept = await getJson<PodJson & { metadata: { deletionTimestamp?: string } }>([
        'get',
        'pod',
        '-n',
        'default',
        'kept',
      ]);
      expect(kept.metadata.deletionTimestamp).toBeUndefined();
    } finally {
      await kwok.resumeHeartbeat(autoNode);
      await kwok.resumeHeartbeat(plainNode);
      await kubectl([
        'delete',
        'pod',
        '-n',
        'default',
        'kept',
        'evicted',
        '--grace-period=0',
        '--force',
        '--ignore-not-found',
      ]);
      await kubectl(['annotate', 'node', autoNode, 'node.openyurt.io/autonomy-duration-']);
    }
  });

  test('leader election: killing the leader lets the standby take over within 15 s and reconcile', async () => {
    await startController('controller-b');
    await sleep(3_000);
    expect(await leaseHolder()).toBe('controller-a');
    const a = controllers.get('controller-a')?.proc as RunningProcess;
    process.kill(a.pid, 'SIGKILL');
    const t0 = Date.now();
    await until('controller-b to lead', 20_000, async () =>
      (await leaseHolder()) === 'controller-b' ? true : undefined,
    );
    const takeoverMs = Date.now() - t0;
    expect(takeoverMs).toBeLessThan(15_000);
    await cluster?.processes.stop('controller-a');

    // The new leader reconciles: a new pool gets its status.
    await apply({
      apiVersion: 'apps.openyurt.io/v1beta2',
      kind: 'NodePool',
      metadata: { name: 'gamma' },
      spec: { type: 'Edge' },
    });
    await kubectl(['label', '--overwrite', 'node', nodes[6] as string, 'apps.openyurt.io/nodepool=gamma']);
    await until('gamma status from controller-b', 30_000, async () => {
      const p = await getJson<PoolJson>(['get', 'np', 'gamma']);
      return p.status?.nodes?.join() === nodes[6] ? true : undefined;
    });
    const b = controllers.get('controller-b') as { metricsPort: number };
    const metrics = await (await fetch(`http://127.0.0.1:${b.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^edgefleet_controller_leader 1$/m);
    expect(metrics).toMatch(
      /edgefleet_controller_reconcile_total\{controller="nodepool",result="success"\} [1-9]/,
    );
    expect((await fetch(`http://127.0.0.1:${b.metricsPort}/healthz`)).status).toBe(200);
  });
});
