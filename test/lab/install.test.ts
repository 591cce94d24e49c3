/**
 * Installing EdgeFleet from the app into a bare cluster (no CRDs, no controller), through the IPC
 * handlers the renderer calls: the plan, the install with per-object progress, the controller's
 * pods Ready on a real kubelet node holding the Lease, a second plan that finds nothing to change,
 * and a NodePool the installed controller reconciles. Checked with kubectl.
 *
 * Lab-specific options, each what a real site with the same trait would set:
 * - the image: built locally (images.ts) and imported into kube-1's containerd, as an air-gapped
 *   site points the installer at its registry mirror;
 * - apiServerForPods: the lab runs no kube-proxy (see controller-deployment.test.ts);
 * - webhook: false when applying — the API server here has no route to pod or Service IPs, so the
 *   webhook configuration would make every Endpoints write wait for its timeout. The serving Secret
 *   the installer generates is still made (the pods mount it) and checked: each replica serves TLS
 *   for the Service's DNS name with a certificate the Secret's CA verifies.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LABEL_NODEPOOL } from '../../src-agent/api/labels.ts';
import type { ClusterSources } from '../../src-main/clusters/sources.ts';
import { FleetService } from '../../src-main/fleet/service.ts';
import {
  type EventChannel,
  type EventMap,
  REQUEST_SCHEMAS,
  type RequestChannel,
  type ResponseOf,
} from '../../src-main/ipc/contract.ts';
import { AppError } from '../../src-main/ipc/errors.ts';
import type { InstallEvent } from '../../src-main/ipc/fleet-types.ts';
import { sessionClusterSources } from './app-sources.ts';
import { controllerLeaseHolder, REPO, until } from './controller-support.ts';
import { buildAgentImage, importImages, type LabImage } from './images.ts';
import { Lab } from './lab.ts';
import { kubeconfigYaml } from './pki.ts';
import { sh } from './sh.ts';

const NS = 'kube-system';
const NODE = 'kube-1';
const APP_LABEL = 'app.kubernetes.io/name=edgefleet-controller';
const WEBHOOK_DNS = 'edgefleet-controller-webhook.kube-system.svc';

let dir = '';
let lab: Lab | undefined;
let fleet: FleetService | undefined;
let image: LabImage;
let clusterId = '';
let sources: ClusterSources | undefined;
const events: InstallEvent[] = [];
const l = () => lab as Lab;
const kubectl = (args: string[]) => l().cluster.kubectl(args);
const kubectlJson = <T>(args: string[]) => l().cluster.kubectlJson<T>(args);

/** What the router does: validate the input against the contract, run the handler. */
async function must<C extends RequestChannel & `fleet:${string}`>(
  channel: C,
  input: unknown,
): Promise<ResponseOf<C>> {
  const checked = REQUEST_SCHEMAS[channel](input);
  if (!checked.ok) throw new Error(`invalid input for ${channel}: ${checked.reason}`);
  const handler = (fleet as FleetService).handlers()[channel] as (i: unknown) => Promise<ResponseOf<C>>;
  try {
    return await handler(checked.value);
  } catch (e) {
    if (e instanceof AppError) throw new Error(`${channel} failed: ${e.message} (${e.fix ?? ''})`);
    throw e;
  }
}

interface PodJson {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { nodeName?: string; containers: { image: string }[] };
  status: { phase?: string; podIP?: string; containerStatuses?: { ready: boolean }[] };
}

const controllerPods = async () =>
  (await kubectlJson<{ items: PodJson[] }>(['get', 'pods', '-n', NS, '-l', APP_LABEL])).items.filter(
    (p) => !p.metadata.deletionTimestamp,
  );

beforeAll(async () => {
  // The image runs the current sources: rebuild the bundle the way releases do.
  await promisify(execFile)(process.execPath, ['scripts/build-agent.mjs'], { cwd: REPO, timeout: 120_000 });
  image = await buildAgentImage();
  dir = await mkdtemp(join(tmpdir(), 'ef-install-'));
  lab = await Lab.start({ kubelets: 1 });
  await importImages(l().kubelet(NODE).containerdSocket, [image]);
  sources = await sessionClusterSources(dir);
  const s = sources;
  fleet = new FleetService({
    kubeConfigFor: (id) => s.kubeConfigFor(id),
    emit: <E extends EventChannel>(channel: E, payload: EventMap[E]) => {
      if (channel === 'fleet:install') events.push(payload as InstallEvent);
    },
    discoveryTtlMs: 0,
    resourcesDir: join(REPO, 'resources'),
  });
  const info = await s.importFile(l().cluster.kubeconfigPath, 'lab admin');
  clusterId = info.contexts[0]?.clusterId as string;
}, 600_000);

afterAll(async () => {
  fleet?.close();
  await lab?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 180_000);

describe('install EdgeFleet into a bare lab cluster from the app', () => {
  const options = () => {
    const api = new URL(l().cluster.apiServerUrl);
    return {
      clusterId,
      image: image.ref,
      apiServerForPods: { host: api.hostname, port: Number(api.port || 443) },
    };
  };

  test('a read-only user: the capability is disabled naming the rules, the plan shows each 403', async () => {
    const name = 'viewer';
    const rules = [{ apiGroups: ['*'], resources: ['*'], verbs: ['get', 'list', 'watch'] }];
    await l().cluster.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: 'default' } },
          { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules },
          {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'ClusterRoleBinding',
            metadata: { name },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
            subjects: [{ kind: 'ServiceAccount', name, namespace: 'default' }],
          },
        ],
      }),
    });
    await until('the default namespace’s ServiceAccount to exist', 60_000, () =>
      kubectl(['get', 'serviceaccount', name, '-n', 'default']).then(() => true),
    );
    const token = (await kubectl(['create', 'token', name, '-n', 'default', '--duration=1h'])).trim();
    const path = join(dir, 'viewer.kubeconfig');
    await writeFile(
      path,
      kubeconfigYaml({
        server: l().cluster.apiServerUrl,
        user: name,
        ca: await readFile(l().cluster.caCertPath),
        token,
      }),
      { mode: 0o600 },
    );
    const viewerId = (await (sources as ClusterSources).importFile(path, 'viewer')).contexts[0]
      ?.clusterId as string;

    const caps = await must('fleet:capabilities', { clusterId: viewerId });
    const install = caps.actions.find((a) => a.action === 'edgefleet:install');
    expect(install?.enabled).toBe(false);
    expect(install?.reason).toMatch(
      /may not create customresourcedefinitions\.apiextensions\.k8s\.io in the cluster/,
    );
    expect(install?.missing?.length).toBeGreaterThan(0);

    const plan = await must('fleet:install:plan', { ...options(), clusterId: viewerId });
    const errors = plan.objects.filter((o) => o.kind !== 'Secret').map((o) => o.error?.code);
    expect(errors).toEqual(Array(10).fill('fleet/forbidden'));
    const crd = plan.objects[0]?.error;
    expect(crd?.message).toMatch(
      /^Your account may not patch customresourcedefinitions\.apiextensions\.k8s\.io/,
    );
    expect(crd?.fix).toMatch(
      /ClusterRole with .*resources: \["customresourcedefinitions"\], verbs: \["patch"\]/,
    );
  }, 120_000);

  test('the capability is offered, and the plan creates every shipped object', async () => {
    const caps = await must('fleet:capabilities', { clusterId });
    expect(caps.controlPlane.kind).toBe('none');
    const install = caps.actions.find((a) => a.action === 'edgefleet:install');
    expect(install?.enabled, install?.reason).toBe(true);

    const plan = await must('fleet:install:plan', options());
    expect(plan.refused).toBeUndefined();
    expect(plan.controlPlane.kind).toBe('none');
    expect(plan.objects.map((o) => `${o.change} ${o.id}`)).toEqual([
      'create CustomResourceDefinition nodepools.apps.openyurt.io',
      'create CustomResourceDefinition yurtappsets.apps.openyurt.io',
      'create Secret kube-system/edgefleet-controller-webhook',
      'create ServiceAccount kube-system/edgefleet-controller',
      'create ClusterRole edgefleet-controller',
      'create ClusterRoleBinding edgefleet-controller',
      'create Role kube-system/edgefleet-controller-leader-election',
      'create RoleBinding kube-system/edgefleet-controller-leader-election',
      'create Deployment kube-system/edgefleet-controller',
      'create Service kube-system/edgefleet-controller-webhook',
      'create MutatingWebhookConfiguration edgefleet-controller',
    ]);
    expect(plan.objects.filter((o) => o.error)).toEqual([]);
    // A dry run stored nothing.
    const crds = await kubectl(['get', 'crd', '-o', 'name']);
    expect(crds).not.toMatch(/openyurt/);
    const deployments = await kubectl(['get', 'deployments', '-n', NS, '-o', 'name']);
    expect(deployments).not.toMatch(/edgefleet-controller/);
  }, 120_000);

  test('install: progress per object, the controller runs on the node and holds the Lease', async () => {
    const result = await must('fleet:install:apply', { ...options(), webhook: false });
    expect(result.error).toBeUndefined();
    expect(result.ok).toBe(true);
    expect(result.objects.map((o) => o.change)).toEqual(Array(10).fill('create'));
    for (const o of result.objects)
      expect(
        events.filter((e) => e.id === o.id).map((e) => e.state),
        o.id,
      ).toEqual(
        o.kind === 'CustomResourceDefinition' ? ['applying', 'waiting', 'applied'] : ['applying', 'applied'],
      );

    const pods = await until('both replicas Running and ready on kube-1', 240_000, async () => {
      const ps = await controllerPods();
      return ps.length === 2 &&
        ps.every(
          (p) =>
            p.status.phase === 'Running' &&
            p.spec.nodeName === NODE &&
            p.status.containerStatuses?.[0]?.ready,
        )
        ? ps
        : undefined;
    });
    expect(pods.map((p) => p.spec.containers[0]?.image)).toEqual([image.ref, image.ref]);
    const holder = await until('a replica to hold the Lease', 60_000, () =>
      controllerLeaseHolder(l().cluster),
    );
    expect(
      pods.some((p) => holder.startsWith(`${p.metadata.name}_`)),
      holder,
    ).toBe(true);

    // The generated serving certificate: each replica serves the Service's name, verified by the Secret's CA.
    const secret = await kubectlJson<{ type: string; data: Record<string, string> }>([
      'get',
      'secret',
      '-n',
      NS,
      'edgefleet-controller-webhook',
    ]);
    expect(secret.type).toBe('kubernetes.io/tls');
    const ca = join(dir, 'webhook-ca.crt');
    await writeFile(ca, Buffer.from(secret.data['ca.crt'] ?? '', 'base64'));
    for (const p of pods) {
      const code = await sh(
        'ip',
        [
          'netns',
          'exec',
          l().kubelet(NODE).netns,
          'curl',
          '-sS',
          '--max-time',
          '5',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          '--cacert',
          ca,
          '--resolve',
          `${WEBHOOK_DNS}:10272:${p.status.podIP}`,
          `https://${WEBHOOK_DNS}:10272/healthz`,
        ],
        { timeoutMs: 20_000 },
      );
      expect(code, p.metadata.name).toBe('200');
    }

    const caps = await must('fleet:capabilities', { clusterId });
    expect(caps.controlPlane.kind).toBe('edgefleet');
    expect(caps.actions.find((a) => a.action === 'edgefleet:install')?.reason).toMatch(/already runs here/);
  }, 600_000);

  test('a second plan with the same options finds nothing to change', async () => {
    const plan = await must('fleet:install:plan', { ...options(), webhook: false });
    expect(plan.controlPlane.kind).toBe('edgefleet');
    expect(plan.objects.filter((o) => o.change !== 'unchanged').map((o) => `${o.change} ${o.id}`)).toEqual(
      [],
    );
    expect(plan.objects).toHaveLength(10);
  }, 120_000);

  test('the installed controller reconciles a pool the app creates and assigns the node to', async () => {
    await must('fleet:nodepools:create', {
      clusterId,
      name: 'site-a',
      type: 'Cloud',
      labels: { 'site.example.com/name': 'a' },
    });
    const moved = await must('fleet:nodes:assignPool', { clusterId, nodes: [NODE], pool: 'site-a' });
    expect(moved).toMatchObject({ changed: 1, failed: 0 });
    await until('the node to carry the pool’s labels and the pool to count it', 90_000, async () => {
      const n = await kubectlJson<{ metadata: { labels?: Record<string, string> } }>(['get', 'node', NODE]);
      const p = await kubectlJson<{ status?: { nodes?: string[]; readyNodeNum?: number } }>([
        'get',
        'np',
        'site-a',
      ]);
      return n.metadata.labels?.[LABEL_NODEPOOL] === 'site-a' &&
        n.metadata.labels['site.example.com/name'] === 'a' &&
        p.status?.nodes?.join() === NODE &&
        p.status.readyNodeNum === 1
        ? true
        : undefined;
    });
  }, 180_000);
});
