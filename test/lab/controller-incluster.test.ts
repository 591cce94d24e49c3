/**
 * The controller as shipped in resources/manifests/controller.yaml, minus the container: the
 * manifest's RBAC objects are applied and the controller process authenticates as the manifest's
 * ServiceAccount (token from a TokenRequest), so every controller working here proves the RBAC is
 * sufficient. The manifest's MutatingWebhookConfiguration is applied too, pointed at the process
 * (URL instead of Service, caBundle = the lab CA), with kube-controller-manager's node-lifecycle,
 * Endpoints and EndpointSlice controllers running as in any cluster.
 *
 * kwok note: kwok's pod stages only bring Pending pods to Ready; once the node-lifecycle controller
 * has marked a Running pod Ready=False, kwok never reports it Ready again (a real kubelet does on
 * its next status sync). The test plays that kubelet part after the node returns.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Cluster } from './cluster.ts';
import {
  CONTROLLER_SA,
  type ControllerProcess,
  controllerLeaseHolder,
  controllerManifestObjects,
  controllerServiceAccountKubeconfig,
  installCrds,
  RBAC_KINDS,
  startControllerProcess,
  until,
} from './controller-support.ts';
import { KWOK_POD_PLACEMENT, Kwok } from './kwok.ts';
import { freePort, type RunningProcess } from './proc.ts';

const SA = CONTROLLER_SA;

interface Meta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
  ownerReferences?: { kind: string; name: string }[];
}
interface ManifestObject {
  kind: string;
  metadata: Meta;
  webhooks?: {
    name: string;
    clientConfig: { service?: { path?: string }; url?: string; caBundle?: string };
  }[];
}
interface PodJson {
  metadata: Meta;
  spec: {
    nodeName?: string;
    containers: { image: string }[];
    tolerations?: { key?: string; tolerationSeconds?: number }[];
  };
  status: { podIP?: string; phase?: string; conditions?: { type: string; status: string }[] };
}
interface SliceJson {
  endpoints?: {
    addresses: string[];
    nodeName?: string;
    targetRef?: { name: string };
    conditions?: { ready?: boolean; serving?: boolean };
  }[];
}
interface EndpointsJson {
  subsets?: { addresses?: { ip: string }[]; notReadyAddresses?: { ip: string }[] }[];
}

describe('controller as its manifest ServiceAccount, with the endpoints webhook', () => {
  let dir = '';
  let cluster: Cluster | undefined;
  let kwok: Kwok;
  let nodes: string[] = [];
  let saKubeconfig = '';
  let webhookPort = 0;
  let webhookCert = { cert: '', key: '' };
  const controllers = new Map<string, ControllerProcess>();

  const c = () => cluster as Cluster;
  const kubectl = (args: string[], input?: string) => c().kubectl(args, input ? { input } : {});
  const getJson = <T>(args: string[]) => c().kubectlJson<T>(args);
  const apply = (obj: unknown) => kubectl(['apply', '-f', '-'], JSON.stringify(obj));

  async function startController(name: string, webhook: boolean): Promise<RunningProcess> {
    const webhookArgs = webhook
      ? [
          `--webhook-addr=127.0.0.1:${webhookPort}`,
          `--webhook-cert-file=${webhookCert.cert}`,
          `--webhook-key-file=${webhookCert.key}`,
        ]
      : [];
    const started = await startControllerProcess(c(), name, saKubeconfig, webhookArgs);
    controllers.set(name, started);
    return started.proc;
  }
  const metricsOf = async (name: string) =>
    (await fetch(`http://127.0.0.1:${controllers.get(name)?.metricsPort}/metrics`)).text();
  const leaseHolder = () => controllerLeaseHolder(c());

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ef-controller-sa-'));
    cluster = await Cluster.start({ dir, bindAddress: '127.0.0.1' });
    kwok = await Kwok.start(cluster);
    await installCrds(cluster);
    nodes = await kwok.createNodes(4, { namePrefix: 'sa-edge' });

    // The manifest's RBAC objects, parsed by kubectl itself, and a kubeconfig as its ServiceAccount.
    const sa = await controllerServiceAccountKubeconfig<ManifestObject>(c(), dir);
    expect(sa.rbac.map((o) => o.kind).sort()).toEqual([...RBAC_KINDS].sort());
    saKubeconfig = sa.kubeconfig;
    expect(
      (
        await kubectl([
          'auth',
          'whoami',
          `--kubeconfig=${saKubeconfig}`,
          '-o',
          'jsonpath={.status.userInfo.username}',
        ])
      ).trim(),
    ).toBe(`system:serviceaccount:${SA.namespace}:${SA.name}`);

    // Webhook: the manifest's configuration, reaching the process on the cluster's bind address.
    webhookPort = await freePort('127.0.0.1');
    webhookCert = await c().pki.issueServerCert('controller-webhook', 'edgefleet-controller-webhook', [
      '127.0.0.1',
    ]);
    const mwc = (await controllerManifestObjects<ManifestObject>(c())).find(
      (o) => o.kind === 'MutatingWebhookConfiguration',
    ) as ManifestObject;
    const caBundle = (await readFile(c().caCertPath)).toString('base64');
    for (const w of mwc.webhooks ?? []) {
      w.clientConfig = { url: `https://127.0.0.1:${webhookPort}${w.clientConfig.service?.path}`, caBundle };
    }
    expect(mwc.webhooks?.length).toBe(2);
    await apply(mwc);

    await startController('controller-a', true);
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

  test('NodePool reconciler works with the manifest RBAC', async () => {
    const n = nodes[3] as string;
    await apply({
      apiVersion: 'apps.openyurt.io/v1beta2',
      kind: 'NodePool',
      metadata: { name: 'sa-pool' },
      spec: {
        type: 'Edge',
        labels: { site: 'sa' },
        taints: [{ key: 'sa/edge', value: 'x', effect: 'NoSchedule' }],
      },
    });
    await kubectl(['label', 'node', n, 'apps.openyurt.io/nodepool=sa-pool']);
    await until('sa-pool status and node labels', 30_000, async () => {
      const p = await getJson<{ status?: { nodes?: string[]; readyNodeNum?: number } }>([
        'get',
        'np',
        'sa-pool',
      ]);
      const node = await getJson<{ metadata: Meta; spec: { taints?: { key: string }[] } }>([
        'get',
        'node',
        n,
      ]);
      return p.status?.nodes?.join() === n &&
        p.status.readyNodeNum === 1 &&
        node.metadata.labels?.site === 'sa' &&
        node.spec.taints?.some((t) => t.key === 'sa/edge')
        ? true
        : undefined;
    });
    await kubectl(['label', 'node', n, 'apps.openyurt.io/nodepool-']);
    await until('sa-pool emptied', 30_000, async () => {
      const node = await getJson<{ metadata: Meta }>(['get', 'node', n]);
      return node.metadata.labels?.site === undefined ? true : undefined;
    });
    await kubectl(['delete', 'np', 'sa-pool', '--timeout=60s']);
  });

  test('YurtAppSet with a statefulSetTemplate: one StatefulSet per pool with its tweaks', async () => {
    const n = nodes[2] as string;
    await apply({
      apiVersion: 'apps.openyurt.io/v1beta2',
      kind: 'NodePool',
      metadata: { name: 'db-pool', labels: { app: 'db' } },
      spec: { type: 'Edge' },
    });
    await kubectl(['label', '--overwrite', 'node', n, 'apps.openyurt.io/nodepool=db-pool']);
    await apply({
      apiVersion: 'apps.openyurt.io/v1beta1',
      kind: 'YurtAppSet',
      metadata: { name: 'db', namespace: 'default' },
      spec: {
        nodepoolSelector: { matchLabels: { app: 'db' } },
        workload: {
          workloadTemplate: {
            statefulSetTemplate: {
              metadata: { labels: { app: 'db' } },
              spec: {
                replicas: 1,
                serviceName: 'db',
                selector: { matchLabels: { app: 'db' } },
                template: {
                  metadata: { labels: { app: 'db' } },
                  spec: { ...KWOK_POD_PLACEMENT, containers: [{ name: 'db', image: 'db:v1' }] },
                },
              },
            },
          },
          workloadTweaks: [
            {
              pools: ['db-pool'],
              tweaks: {
                replicas: 2,
                containerImages: [{ name: 'db', targetImage: 'db:v1-edge' }],
                patches: [{ path: '/metadata/labels/tier', operation: 'add', value: 'edge' }],
              },
            },
          ],
        },
      },
    });
    interface StsJson {
      metadata: Meta;
      spec: {
        replicas: number;
        template: { spec: { containers: { image: string }[]; affinity?: unknown } };
      };
      status?: { readyReplicas?: number };
    }
    const sts = await until('StatefulSet db-db-pool with 2 ready replicas', 90_000, async () => {
      const s = await getJson<StsJson>(['get', 'statefulset', '-n', 'default', 'db-db-pool']);
      return s.status?.readyReplicas === 2 ? s : undefined;
    });
    expect(sts.metadata.labels).toMatchObject({
      app: 'db',
      tier: 'edge',
      'apps.openyurt.io/ref-yurtappset': 'db',
      'apps.openyurt.io/pool-name': 'db-pool',
    });
    expect(sts.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'YurtAppSet', name: 'db' });
    expect(sts.spec.replicas).toBe(2);
    expect(sts.spec.template.spec.containers[0]?.image).toBe('db:v1-edge');
    expect(JSON.stringify(sts.spec.template.spec.affinity)).toContain('"apps.openyurt.io/nodepool"');
    // No Deployment for a StatefulSet app.
    expect(
      (
        await kubectl([
          'get',
          'deploy',
          '-n',
          'default',
          '-l',
          'apps.openyurt.io/ref-yurtappset=db',
          '-o',
          'name',
        ])
      ).trim(),
    ).toBe('');
    const pods = (await getJson<{ items: PodJson[] }>(['get', 'pods', '-n', 'default', '-l', 'app=db']))
      .items;
    expect(pods.map((p) => p.metadata.name).sort()).toEqual(['db-db-pool-0', 'db-db-pool-1']);
    for (const p of pods) {
      expect(p.spec.nodeName).toBe(n);
      expect(p.spec.containers[0]?.image).toBe('db:v1-edge');
    }
    await until('YurtAppSet status 1/1', 30_000, async () => {
      const y = await getJson<{ status?: { totalWorkloads?: number; readyWorkloads?: number } }>([
        'get',
        'yas',
        '-n',
        'default',
        'db',
      ]);
      return y.status?.totalWorkloads === 1 && y.status.readyWorkloads === 1 ? true : undefined;
    });
    await kubectl(['delete', 'yas', '-n', 'default', 'db']);
    await until('StatefulSet garbage-collected', 60_000, async () =>
      (await kubectl(['get', 'sts', '-n', 'default', '-o', 'name'])).trim() === '' ? true : undefined,
    );
    await kubectl(['label', 'node', n, 'apps.openyurt.io/nodepool-']);
    await kubectl(['delete', 'np', 'db-pool', '--timeout=60s']);
  });

  test('autonomy: a cut-off autonomous node keeps its pod in the Service endpoints; a plain node does not', async () => {
    const [autoNode, plainNode] = [nodes[0] as string, nodes[1] as string];
    await kubectl(['annotate', '--overwrite', 'node', autoNode, 'node.openyurt.io/autonomy-duration=0']);
    await kubectl(['label', 'node', autoNode, plainNode, 'ep-test=yes']);
    await apply({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'web', namespace: 'default' },
          spec: { selector: { app: 'ep-web' }, ports: [{ port: 80, targetPort: 8080 }] },
        },
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'ep-web', namespace: 'default' },
          spec: {
            replicas: 2,
            selector: { matchLabels: { app: 'ep-web' } },
            template: {
              metadata: { labels: { app: 'ep-web' } },
              spec: {
                nodeSelector: { ...KWOK_POD_PLACEMENT.nodeSelector, 'ep-test': 'yes' },
                tolerations: KWOK_POD_PLACEMENT.tolerations,
                // One pod per node.
                affinity: {
                  podAntiAffinity: {
                    requiredDuringSchedulingIgnoredDuringExecution: [
                      {
                        topologyKey: 'kubernetes.io/hostname',
                        labelSelector: { matchLabels: { app: 'ep-web' } },
                      },
                    ],
                  },
                },
                containers: [{ name: 'web', image: 'web:v1', ports: [{ containerPort: 8080 }] }],
              },
            },
          },
        },
      ],
    });
    const pods = async () =>
      (
        await getJson<{ items: PodJson[] }>(['get', 'pods', '-n', 'default', '-l', 'app=ep-web'])
      ).items.filter((p) => !p.metadata.deletionTimestamp);
    const podOn = async (node: string) => (await pods()).find((p) => p.spec.nodeName === node);
    const sliceReady = async () => {
      const slices = await getJson<{ items: SliceJson[] }>([
        'get',
        'endpointslices',
        '-n',
        'default',
        '-l',
        'kubernetes.io/service-name=web',
      ]);
      const out = new Map<string, { ready: boolean; pod: string; ip: string }>();
      for (const s of slices.items)
        for (const e of s.endpoints ?? [])
          out.set(e.nodeName ?? '', {
            ready: e.conditions?.ready === true,
            pod: e.targetRef?.name ?? '',
            ip: e.addresses[0] ?? '',
          });
      return out;
    };
    const endpointsIps = async () => {
      const e = await getJson<EndpointsJson>(['get', 'endpoints', '-n', 'default', 'web']);
      return {
        ready: (e.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip)).sort(),
        notReady: (e.subsets ?? []).flatMap((s) => (s.notReadyAddresses ?? []).map((a) => a.ip)).sort(),
      };
    };

    await until('both endpoints ready', 90_000, async () => {
      const s = await sliceReady();
      return s.get(autoNode)?.ready && s.get(plainNode)?.ready ? true : undefined;
    });
    const autoPod = (await podOn(autoNode)) as PodJson;
    const plainPod = (await podOn(plainNode)) as PodJson;
    // The autonomy controller made the pod on the autonomous node tolerate a lost link forever.
    await until('forever toleration on the autonomous pod', 30_000, async () => {
      const p = await getJson<PodJson>(['get', 'pod', '-n', 'default', autoPod.metadata.name]);
      const t = p.spec.tolerations?.find((x) => x.key === 'node.kubernetes.io/unreachable');
      return t && t.tolerationSeconds === undefined ? true : undefined;
    });

    const podReady = async (name: string) =>
      (await getJson<PodJson>(['get', 'pod', '-n', 'default', name])).status.conditions?.find(
        (x) => x.type === 'Ready',
      )?.status;
    try {
      await kwok.stopHeartbeat(autoNode);
      await kwok.stopHeartbeat(plainNode);
      // Lab node grace is 20 s: the node-lifecycle controller marks both nodes Unknown and both pods
      // Ready=False; the plain node's endpoint goes not-ready.
      await until('plain endpoint not ready', 90_000, async () =>
        (await sliceReady()).get(plainNode)?.ready === false ? true : undefined,
      );
      expect(await podReady(autoPod.metadata.name)).toBe('False');
      expect(await podReady(plainPod.metadata.name)).toBe('False');
      // It stays so for a while (controllers resync): the autonomous one stays ready throughout.
      for (let i = 0; i < 5; i++) {
        const s = await sliceReady();
        expect(s.get(autoNode)).toMatchObject({ ready: true, pod: autoPod.metadata.name });
        expect(s.get(plainNode)?.ready).toBe(false);
        const e = await endpointsIps();
        expect(e.ready).toEqual([autoPod.status.podIP]);
        expect(e.notReady).toEqual([plainPod.status.podIP]);
        await sleep(2_000);
      }
      const m = await metricsOf('controller-a');
      expect(m).toMatch(
        /edgefleet_controller_webhook_endpoints_kept_ready_total\{resource="endpointslices"\} [1-9]/,
      );
      expect(m).toMatch(
        /edgefleet_controller_webhook_endpoints_kept_ready_total\{resource="endpoints"\} [1-9]/,
      );
    } finally {
      await kwok.resumeHeartbeat(autoNode);
      await kwok.resumeHeartbeat(plainNode);
    }
    await kubectl([
      'wait',
      '--for=condition=Ready',
      '--timeout=60s',
      `node/${autoNode}`,
      `node/${plainNode}`,
    ]);
    // The kubelet's status sync after reconnecting (kwok does not do it, see the file comment).
    const kubeletReports = (name: string, ok: boolean) =>
      kubectl([
        'patch',
        'pod',
        '-n',
        'default',
        name,
        '--subresource=status',
        '--type=strategic',
        '-p',
        JSON.stringify({
          status: {
            conditions: ['Ready', 'ContainersReady'].map((type) => ({ type, status: ok ? 'True' : 'False' })),
          },
        }),
      ]);
    await kubeletReports(autoPod.metadata.name, true);
    await kubeletReports(plainPod.metadata.name, true);
    await until('both endpoints ready again, matching the pods', 60_000, async () => {
      const s = await sliceReady();
      const e = await endpointsIps();
      return s.get(autoNode)?.ready &&
        s.get(plainNode)?.ready &&
        e.notReady.length === 0 &&
        e.ready.length === 2
        ? true
        : undefined;
    });
    // Nothing stale: with the node back, a pod its kubelet reports broken leaves the endpoints —
    // autonomy no longer overrides anything.
    await kubeletReports(autoPod.metadata.name, false);
    await until('auto endpoint follows the real readiness', 60_000, async () => {
      const s = await sliceReady();
      const e = await endpointsIps();
      return s.get(autoNode)?.ready === false && e.notReady.join() === autoPod.status.podIP
        ? true
        : undefined;
    });
    await kubectl(['delete', 'deploy,svc', '-n', 'default', 'ep-web', 'web', '--ignore-not-found']);
    await kubectl(['annotate', 'node', autoNode, 'node.openyurt.io/autonomy-duration-']);
  });

  test('leader election with the manifest Role: the standby takes over and reconciles', async () => {
    // Every controller of the first replica reconciled something, without a single RBAC error.
    const m = await metricsOf('controller-a');
    for (const name of ['nodepool', 'yurtappset', 'autonomy'])
      expect(m).toMatch(
        new RegExp(`edgefleet_controller_reconcile_total\\{controller="${name}",result="success"\\} [1-9]`),
      );
    await startController('controller-b', false);
    await sleep(3_000);
    expect(await leaseHolder()).toBe('controller-a');
    process.kill((controllers.get('controller-a') as { proc: RunningProcess }).proc.pid, 'SIGKILL');
    await until('controller-b to lead', 20_000, async () =>
      (await leaseHolder()) === 'controller-b' ? true : undefined,
    );
    await c().processes.stop('controller-a');
    await apply({
      apiVersion: 'apps.openyurt.io/v1beta2',
      kind: 'NodePool',
      metadata: { name: 'after-failover' },
      spec: { type: 'Edge' },
    });
    await kubectl([
      'label',
      '--overwrite',
      'node',
      nodes[3] as string,
      'apps.openyurt.io/nodepool=after-failover',
    ]);
    await until('after-failover status from controller-b', 30_000, async () => {
      const p = await getJson<{ status?: { nodes?: string[] } }>(['get', 'np', 'after-failover']);
      return p.status?.nodes?.join() === nodes[3] ? true : undefined;
    });
    expect(await metricsOf('controller-b')).toMatch(/^edgefleet_controller_leader 1$/m);
  });

  test('no request of either replica was forbidden or unauthorized', async () => {
    for (const [name, { proc }] of controllers) {
      const log = await readFile(proc.logPath, 'utf8');
      expect(log, `${name} log`).not.toMatch(/: (401|403) |forbidden|unauthorized/i);
      expect(log, `${name} log`).toMatch(/caches synced|lead|Lease/i);
    }
  });
});
