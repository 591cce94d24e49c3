/**
 * Fleet operations (src-main/fleet) against a real kube-apiserver with kwok nodes and our
 * controller run as a process, each result checked with kubectl: pools and membership, delete
 * protection, autonomy reaching pods' tolerations, drain through the Eviction API with a PDB,
 * uncordon, a read-only user's disabled capability and 403, and an exec-plugin user's write.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { AppError, type IpcError } from '../../src-main/ipc/errors.ts';
import type { DrainEvent } from '../../src-main/ipc/fleet-types.ts';
import { sessionClusterSources } from './app-sources.ts';
import { LAB_EVICTION_TOLERATION_SECONDS } from './cluster.ts';
import { type ControllerProcess, installCrds, startControllerProcess, until } from './controller-support.ts';
import { writeExecPluginKubeconfig } from './exec-plugin.ts';
import { KWOK_POD_PLACEMENT } from './kwok.ts';
import { Lab } from './lab.ts';
import { kubeconfigYaml } from './pki.ts';

let dir = '';
let lab: Lab | undefined;
let fleet: FleetService | undefined;
let sources: ClusterSources | undefined;
const drainEvents: DrainEvent[] = [];
let adminId = '';
let controller: ControllerProcess | undefined;

const kubectl = (args: string[], input?: string) =>
  (lab as Lab).cluster.kubectl(args, input === undefined ? {} : { input });
const kubectlJson = <T>(args: string[]) => (lab as Lab).cluster.kubectlJson<T>(args);
const apply = (obj: unknown) => kubectl(['apply', '-f', '-'], JSON.stringify(obj));

type Outcome<C extends RequestChannel> = { ok: true; value: ResponseOf<C> } | { ok: false; error: IpcError };

/** What the router does: validate the input against the contract, run the handler, errors as values. */
async function call<C extends RequestChannel & `fleet:${string}`>(
  channel: C,
  input: unknown,
): Promise<Outcome<C>> {
  const checked = REQUEST_SCHEMAS[channel](input);
  if (!checked.ok) throw new Error(`invalid input for ${channel}: ${checked.reason}`);
  const handler = (fleet as FleetService).handlers()[channel] as (i: unknown) => Promise<ResponseOf<C>>;
  try {
    return { ok: true, value: await handler(checked.value) };
  } catch (e) {
    if (e instanceof AppError) return { ok: false, error: e.toIpc() };
    throw e;
  }
}
async function must<C extends RequestChannel & `fleet:${string}`>(
  channel: C,
  input: unknown,
): Promise<ResponseOf<C>> {
  const r = await call(channel, input);
  if (!r.ok) throw new Error(`${channel} failed: ${r.error.message} (${r.error.fix ?? ''})`);
  return r.value;
}

interface Node {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { taints?: { key: string; value?: string; effect: string }[]; unschedulable?: boolean };
}
interface Pod {
  metadata: { name: string; labels?: Record<string, string>; ownerReferences?: { kind: string }[] };
  spec: { nodeName?: string; tolerations?: { key?: string; tolerationSeconds?: number }[] };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}
const node = (name: string) => kubectlJson<Node>(['get', 'node', name]);
const podsOf = async (selector: string) =>
  (await kubectlJson<{ items: Pod[] }>(['get', 'pods', '-n', 'default', '-l', selector])).items;
const ready = (p: Pod) =>
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** Imports a kubeconfig file as a source; answers its cluster id. */
async function importKubeconfig(path: string, name: string): Promise<string> {
  const info = await (sources as ClusterSources).importFile(path, name);
  return info.contexts[0]?.clusterId as string;
}

/** A ServiceAccount bound to a ClusterRole with `rules`, and a token for it. */
async function serviceAccount(name: string, rules: unknown[]): Promise<string> {
  await apply({
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
  });
  return (await kubectl(['create', 'token', name, '-n', 'default', '--duration=1h'])).trim();
}

const READ_ONLY_RULES = [
  { apiGroups: [''], resources: ['nodes', 'pods', 'services', 'events'], verbs: ['get', 'list', 'watch'] },
  {
    apiGroups: ['apps.openyurt.io'],
    resources: ['nodepools', 'yurtappsets'],
    verbs: ['get', 'list', 'watch'],
  },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list', 'watch'] },
];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ef-fleet-ops-'));
  lab = await Lab.start({ kwokNodes: 5 });
  await installCrds(lab.cluster);
  controller = await startControllerProcess(lab.cluster, 'edgefleet-controller', lab.cluster.kubeconfigPath, [
    '--resync=30',
  ]);
  await until('the controller to hold its lease', 60_000, async () =>
    kubectl(['get', 'lease', '-n', 'kube-system', 'edgefleet-controller']).then(() => true),
  );
  await until('the default ServiceAccount', 60_000, () =>
    kubectl(['get', 'serviceaccount', 'default', '-n', 'default']).then(() => true),
  );
  sources = await sessionClusterSources(dir);
  const s = sources;
  fleet = new FleetService({
    kubeConfigFor: (id) => s.kubeConfigFor(id),
    emit: <E extends EventChannel>(channel: E, payload: EventMap[E]) => {
      if (channel === 'fleet:drain') drainEvents.push(payload as DrainEvent);
    },
    drain: { backoffMinMs: 300, backoffMaxMs: 2_000, pollMs: 300 },
    discoveryTtlMs: 0,
  });
  adminId = await importKubeconfig(lab.cluster.kubeconfigPath, 'lab admin');
});

afterAll(async () => {
  fleet?.close();
  await lab?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('node pools', () => {
  it('the admin may do everything (pause too: the EdgeFleet controller runs); the served version is v1beta2', async () => {
    const caps = await must('fleet:capabilities', { clusterId: adminId });
    expect(caps.served.nodePools).toBe('apps.openyurt.io/v1beta2');
    expect(caps.controlPlane.kind).toBe('edgefleet');
    expect(caps.controlPlane.evidence).toContain('Lease kube-system/edgefleet-controller');
    const disabled = caps.actions.filter((a) => !a.enabled).map((a) => a.action);
    expect(disabled).toEqual([]);
  });

  it('create a pool and assign two nodes: they carry the pool label, then (controller) its labels and taints', async () => {
    const pool = await must('fleet:nodepools:create', {
      clusterId: adminId,
      name: 'north',
      type: 'Edge',
      labels: { 'site.example.com/name': 'north' },
      taints: [{ key: 'site.example.com/remote', value: 'yes', effect: 'PreferNoSchedule' }],
    });
    expect(pool.metadata.name).toBe('north');
    const np = await kubectlJson<{
      spec: { type: string };
      metadata: { managedFields: { manager: string }[] };
    }>(['get', 'nodepool', 'north', '--show-managed-fields']);
    expect(np.spec.type).toBe('Edge');
    expect(np.metadata.managedFields.map((m) => m.manager)).toContain('edgefleet-app');
    const again = await call('fleet:nodepools:create', { clusterId: adminId, name: 'north', type: 'Edge' });
    expect(again.ok ? '' : again.error.code).toBe('fleet/exists');

    const moved = await must('fleet:nodes:assignPool', {
      clusterId: adminId,
      nodes: ['kwok-node-0', 'kwok-node-1'],
      pool: 'north',
    });
    expect(moved).toMatchObject({ changed: 2, failed: 0 });
    expect(moved.results.map((r) => r.previous)).toEqual([null, null]);
    for (const n of ['kwok-node-0', 'kwok-node-1']) {
      expect((await node(n)).metadata.labels?.[LABEL_NODEPOOL]).toBe('north');
      await until(`the controller to apply the pool to ${n}`, 60_000, async () => {
        const got = await node(n);
        return (
          got.metadata.labels?.['site.example.com/name'] === 'north' &&
          got.spec?.taints?.some(
            (t) => t.key === 'site.example.com/remote' && t.effect === 'PreferNoSchedule',
          )
        );
      });
    }
    // Editing the pool replaces its labels: the controller follows on the members.
    await must('fleet:nodepools:edit', {
      clusterId: adminId,
      name: 'north',
      labels: { 'site.example.com/name': 'n2' },
    });
    await until('the edited label on the members', 60_000, async () =>
      (await node('kwok-node-0')).metadata.labels?.['site.example.com/name'] === 'n2' ? true : undefined,
    );
  });

  it('delete is refused while the pool has members, and allowed once it is empty', async () => {
    const refused = await call('fleet:nodepools:delete', { clusterId: adminId, name: 'north' });
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(refused.error.code).toBe('fleet/pool-has-members');
    expect(refused.error.message).toMatch(/north still has 2 member nodes: kwok-node-0, kwok-node-1/);
    await kubectl(['get', 'nodepool', 'north']);

    const out = await must('fleet:nodes:assignPool', {
      clusterId: adminId,
      nodes: ['kwok-node-0', 'kwok-node-1'],
      pool: null,
    });
    expect(out.results.map((r) => r.previous)).toEqual(['north', 'north']);
    expect((await node('kwok-node-0')).metadata.labels?.[LABEL_NODEPOOL]).toBeUndefined();
    await must('fleet:nodepools:delete', { clusterId: adminId, name: 'north' });
    await until('the pool to be gone', 60_000, async () =>
      kubectl(['get', 'nodepool', 'north']).then(
        () => undefined,
        (e: Error) => /NotFound/.test(e.message),
      ),
    );
    // The controller took its labels and taints off the nodes that left.
    await until('pool labels removed from a former member', 60_000, async () =>
      (await node('kwok-node-0')).metadata.labels?.['site.example.com/name'] === undefined ? true : undefined,
    );
  });
});

describe('autonomy', () => {
  it("set on a pool: every member has the annotation and their pods' tolerations change; cleared: back to the original", async () => {
    await must('fleet:nodepools:create', { clusterId: adminId, name: 'south', type: 'Edge' });
    await must('fleet:nodes:assignPool', {
      clusterId: adminId,
      nodes: ['kwok-node-2', 'kwok-node-3'],
      pool: 'south',
    });
    await apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'edge-app', namespace: 'default' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'edge-app' } },
        template: {
          metadata: { labels: { app: 'edge-app' } },
          spec: {
            nodeSelector: { ...KWOK_POD_PLACEMENT.nodeSelector, [LABEL_NODEPOOL]: 'south' },
            tolerations: [...KWOK_POD_PLACEMENT.tolerations],
            containers: [{ name: 'app', image: 'registry.invalid/app:1' }],
          },
        },
      },
    });
    await until('edge-app pods Running in pool south', 90_000, async () => {
      const pods = await podsOf('app=edge-app');
      return pods.length === 2 && pods.every((p) => p.status?.phase === 'Running') ? true : undefined;
    });

    const unreachableSeconds = (p: Pod) =>
      p.spec.tolerations?.find((t) => t.key === 'node.kubernetes.io/unreachable')?.tolerationSeconds;
    // DefaultTolerationSeconds gave them the lab's default (LAB_EVICTION_TOLERATION_SECONDS).
    const original = unreachableSeconds((await podsOf('app=edge-app'))[0] as Pod);
    expect(original).toBe(LAB_EVICTION_TOLERATION_SECONDS);
    const set = await must('fleet:nodes:setAutonomy', { clusterId: adminId, pool: 'south', duration: '2h' });
    expect(set.effect.tolerationSeconds).toBe(7200);
    expect(set.results.map((r) => r.node)).toEqual(['kwok-node-2', 'kwok-node-3']);
    expect(set.changed).toBe(2);
    for (const n of ['kwok-node-2', 'kwok-node-3'])
      expect((await node(n)).metadata.annotations?.['node.openyurt.io/autonomy-duration']).toBe('2h');
    await until("the pods' unreachable toleration at 7200 s", 60_000, async () => {
      const pods = await podsOf('app=edge-app');
      return pods.length === 2 && pods.every((p) => unreachableSeconds(p) === 7200) ? true : undefined;
    });

    const cleared = await must('fleet:nodes:setAutonomy', {
      clusterId: adminId,
      pool: 'south',
      duration: null,
    });
    expect(cleared.effect.tolerationSeconds).toBe('restored');
    expect(cleared.results.map((r) => r.previous)).toEqual(['2h', '2h']);
    expect(
      (await node('kwok-node-2')).metadata.annotations?.['node.openyurt.io/autonomy-duration'],
    ).toBeUndefined();
    await until("the pods' unreachable toleration back at its original", 60_000, async () => {
      const pods = await podsOf('app=edge-app');
      return pods.every((p) => unreachableSeconds(p) === original) ? true : undefined;
    });
  });
});

describe('drain', () => {
  it('evicts through the Eviction API respecting the PDB, skips DaemonSet pods, cordons; uncordon', async () => {
    const others = ['kwok-node-0', 'kwok-node-1', 'kwok-node-2', 'kwok-node-3'];
    // Both replicas on kwok-node-4: the others are cordoned while they schedule.
    await must('fleet:nodes:cordon', { clusterId: adminId, nodes: others });
    await apply({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'web', namespace: 'default' },
          spec: {
            replicas: 2,
            selector: { matchLabels: { app: 'web' } },
            template: {
              metadata: { labels: { app: 'web' } },
              spec: { ...KWOK_POD_PLACEMENT, containers: [{ name: 'web', image: 'registry.invalid/web:1' }] },
            },
          },
        },
        {
          apiVersion: 'policy/v1',
          kind: 'PodDisruptionBudget',
          metadata: { name: 'web', namespace: 'default' },
          spec: { minAvailable: 2, selector: { matchLabels: { app: 'web' } } },
        },
        {
          apiVersion: 'apps/v1',
          kind: 'DaemonSet',
          metadata: { name: 'node-agent', namespace: 'default' },
          spec: {
            selector: { matchLabels: { app: 'node-agent' } },
            template: {
              metadata: { labels: { app: 'node-agent' } },
              spec: { ...KWOK_POD_PLACEMENT, containers: [{ name: 'a', image: 'registry.invalid/agent:1' }] },
            },
          },
        },
      ],
    });
    await until('both web replicas Ready on kwok-node-4', 90_000, async () => {
      const pods = await podsOf('app=web');
      return pods.length === 2 && pods.every((p) => ready(p) && p.spec.nodeName === 'kwok-node-4')
        ? true
        : undefined;
    });
    const disruptionsAllowed = async () =>
      (
        await kubectlJson<{ status?: { disruptionsAllowed?: number } }>([
          'get',
          'pdb',
          'web',
          '-n',
          'default',
        ])
      ).status?.disruptionsAllowed;
    await until('the PDB to allow no disruption', 60_000, async () =>
      (await disruptionsAllowed()) === 0 ? true : undefined,
    );
    await until('the node-agent pod on kwok-node-4', 60_000, async () =>
      (await podsOf('app=node-agent')).some((p) => p.spec.nodeName === 'kwok-node-4') ? true : undefined,
    );
    const webBefore = (await podsOf('app=web')).map((p) => p.metadata.name).sort();
    await must('fleet:nodes:uncordon', { clusterId: adminId, nodes: others });

    // minAvailable 2 of 2: no eviction may go; the drain reports itself blocked by the PDB at its deadline.
    const stuck = await must('fleet:drain:start', {
      clusterId: adminId,
      node: 'kwok-node-4',
      timeoutSeconds: 6,
    });
    const stuckEnd = await until(
      'the blocked drain to end',
      30_000,
      async () => drainEvents.find((e) => e.drainId === stuck.drainId && e.info)?.info,
    );
    expect(stuckEnd.state).toBe('blocked');
    const webStuck = stuckEnd.pods.filter((p) => p.name.startsWith('web-'));
    expect(webStuck.map((p) => [p.status, p.pdb])).toEqual([
      ['blocked', 'web'],
      ['blocked', 'web'],
    ]);
    expect(webStuck[0]?.reason).toMatch(/blocked by PDB web/);
    expect((await podsOf('app=web')).map((p) => p.metadata.name).sort()).toEqual(webBefore);

    // minAvailable 1: one eviction at a time, the next only once a replacement is Ready elsewhere.
    await kubectl([
      'patch',
      'pdb',
      'web',
      '-n',
      'default',
      '--type=merge',
      '-p',
      '{"spec":{"minAvailable":1}}',
    ]);
    await until('the PDB to allow one disruption', 60_000, async () =>
      (await disruptionsAllowed()) === 1 ? true : undefined,
    );
    const started = await must('fleet:drain:start', {
      clusterId: adminId,
      node: 'kwok-node-4',
      timeoutSeconds: 120,
    });
    expect((await node('kwok-node-4')).spec?.unschedulable).toBe(true);
    expect(started.pods.find((p) => p.name.startsWith('node-agent'))).toMatchObject({
      status: 'skipped',
      reason: expect.stringMatching(/DaemonSet/),
    });
    // While it runs, never fewer than one web replica is Ready (the PDB's minAvailable).
    let minReady = 2;
    const end = await until(
      'the drain to end',
      150_000,
      async () => {
        const pods = await podsOf('app=web');
        minReady = Math.min(minReady, pods.filter(ready).length);
        return drainEvents.find((e) => e.drainId === started.drainId && e.info)?.info;
      },
      200,
    );
    expect(end.state).toBe('done');
    const evicted = end.pods
      .filter((p) => p.status === 'evicted')
      .map((p) => p.name)
      .sort();
    expect(evicted).toEqual(webBefore);
    expect(minReady).toBeGreaterThanOrEqual(1);
    const after = await podsOf('app=web');
    expect(after.every((p) => p.spec.nodeName !== 'kwok-node-4')).toBe(true);
    expect((await podsOf('app=node-agent')).some((p) => p.spec.nodeName === 'kwok-node-4')).toBe(true);

    const un = await must('fleet:nodes:uncordon', { clusterId: adminId, nodes: ['kwok-node-4'] });
    expect(un.results[0]?.previous).toBe('true');
    expect((await node('kwok-node-4')).spec?.unschedulable).toBeUndefined();
  });
});

describe('who may do what', () => {
  it('a read-only user sees "create node pools" disabled with the reason, and a write is refused with the 403 message', async () => {
    const token = await serviceAccount('fleet-readonly', READ_ONLY_RULES);
    const path = join(dir, 'readonly.kubeconfig');
    const ca = await readFile((lab as Lab).cluster.caCertPath);
    await writeFile(
      path,
      kubeconfigYaml({ server: (lab as Lab).cluster.apiServerUrl, user: 'ro', ca, token }),
    );
    const roId = await importKubeconfig(path, 'read-only');

    const caps = await must('fleet:capabilities', { clusterId: roId });
    expect(caps.user).toBe('system:serviceaccount:default:fleet-readonly');
    expect(caps.actions.every((a) => !a.enabled)).toBe(true);
    const create = caps.actions.find((a) => a.action === 'nodepools:create');
    expect(create?.reason).toMatch(
      /Your account may not create nodepools\.apps\.openyurt\.io in the cluster/,
    );
    expect(create?.missing).toEqual([
      { apiGroups: ['apps.openyurt.io'], resources: ['nodepools'], verbs: ['create'] },
      { apiGroups: ['apps.openyurt.io'], resources: ['nodepools'], verbs: ['patch'] },
    ]);
    const drain = caps.actions.find((a) => a.action === 'nodes:drain');
    expect(drain?.reason).toMatch(/create pods\/eviction/);
    const exec = caps.actions.find((a) => a.action === 'pods:exec');
    expect(exec?.reason).toMatch(/may not create pods\/exec in the cluster/);
    expect(exec?.missing).toEqual([{ apiGroups: [''], resources: ['pods/exec'], verbs: ['create'] }]);
    expect(caps.actions.find((a) => a.action === 'pods:log')?.reason).toMatch(/may not get pods\/log/);

    const refused = await call('fleet:nodepools:create', {
      clusterId: roId,
      name: 'not-allowed',
      type: 'Cloud',
    });
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(refused.error.code).toBe('fleet/forbidden');
    expect(refused.error.message).toMatch(
      /^Your account may not patch nodepools\.apps\.openyurt\.io in the cluster\./,
    );
    expect(refused.error.message).toMatch(/system:serviceaccount:default:fleet-readonly/);
    expect(refused.error.fix).toMatch(
      /ClusterRole with \{apiGroups: \["apps\.openyurt\.io"\], resources: \["nodepools"\], verbs: \["patch"\]\}/,
    );
    const cordon = await must('fleet:nodes:cordon', { clusterId: roId, nodes: ['kwok-node-0'] });
    expect(cordon.failed).toBe(1);
    expect(cordon.results[0]?.error?.message).toMatch(/may not patch nodes in the cluster/);
    await expect(kubectl(['get', 'nodepool', 'not-allowed'])).rejects.toThrow(/NotFound/);
  });

  it('an exec-plugin user can create a pool', async () => {
    const token = await serviceAccount('fleet-operator', [
      {
        apiGroups: ['apps.openyurt.io'],
        resources: ['nodepools'],
        verbs: ['get', 'list', 'create', 'patch'],
      },
    ]);
    const { path, calls } = await writeExecPluginKubeconfig({
      dir,
      server: (lab as Lab).cluster.apiServerUrl,
      caPem: await readFile((lab as Lab).cluster.caCertPath),
      status: { token },
    });
    const ssoId = await importKubeconfig(path, 'sso');
    const caps = await must('fleet:capabilities', { clusterId: ssoId });
    expect(caps.user).toBe('system:serviceaccount:default:fleet-operator');
    expect(caps.actions.find((a) => a.action === 'nodepools:create')?.enabled).toBe(true);
    expect(caps.actions.find((a) => a.action === 'nodes:cordon')?.enabled).toBe(false);
    await must('fleet:nodepools:create', { clusterId: ssoId, name: 'from-plugin', type: 'Cloud' });
    const np = await kubectlJson<{ spec: { type: string } }>(['get', 'nodepool', 'from-plugin']);
    expect(np.spec.type).toBe('Cloud');
    expect((await readFile(calls, 'utf8')).split('\n')).toContain('called');
  });
});

describe('YurtAppSets', () => {
  interface Deploy {
    metadata: { name: string; labels?: Record<string, string> };
    spec: { template: { spec: { containers: { image: string }[] } } };
  }
  const deploymentsOf = async (yas: string) =>
    (
      await kubectlJson<{ items: Deploy[] }>([
        'get',
        'deployments',
        '-n',
        'default',
        '-l',
        `apps.openyurt.io/ref-yurtappset=${yas}`,
      ])
    ).items;

  it('created from the form into pool south, the image changed: the per-pool Deployment follows', async () => {
    const made = await must('fleet:yurtappsets:create', {
      clusterId: adminId,
      namespace: 'default',
      name: 'shop',
      image: 'registry.invalid/shop:1',
      replicas: 1,
      ports: [{ containerPort: 8080, name: 'http' }],
      pools: ['south'],
      tweaks: [{ pools: ['south'], replicas: 2 }],
    });
    expect(made.apiVersion).toBe('apps.openyurt.io/v1beta1');
    await until('the Deployment for pool south', 60_000, async () => {
      const d = await deploymentsOf('shop');
      return d.length === 1 && d[0]?.metadata.labels?.['apps.openyurt.io/pool-name'] === 'south'
        ? true
        : undefined;
    });
    await must('fleet:yurtappsets:setImage', {
      clusterId: adminId,
      namespace: 'default',
      name: 'shop',
      image: 'registry.invalid/shop:2',
    });
    await until('the new image in the pool Deployment', 60_000, async () =>
      (await deploymentsOf('shop'))[0]?.spec.template.spec.containers[0]?.image === 'registry.invalid/shop:2'
        ? true
        : undefined,
    );
  });

  it('paused: the controller holds a new image (says so for that generation), the Deployment keeps the old one; resumed: it follows', async () => {
    interface Yas {
      metadata: { generation: number; annotations?: Record<string, string> };
      status?: {
        observedGeneration?: number;
        conditions?: { type: string; reason?: string; message?: string }[];
      };
    }
    const yasNow = () => kubectlJson<Yas>(['get', 'yurtappsets.apps.openyurt.io', 'shop', '-n', 'default']);
    const rolloutOf = (y: Yas) => y.status?.conditions?.find((c) => c.type === 'RolloutProgressing');
    await must('fleet:yurtappsets:setPaused', {
      clusterId: adminId,
      namespace: 'default',
      name: 'shop',
      paused: true,
    });
    expect((await yasNow()).metadata.annotations?.['apps.edgefleet.io/rollout-paused']).toBe('true');
    await until('the controller to hold the rollout', 60_000, async () =>
      rolloutOf(await yasNow())?.reason === 'PausedByUser' ? true : undefined,
    );
    await must('fleet:yurtappsets:setImage', {
      clusterId: adminId,
      namespace: 'default',
      name: 'shop',
      image: 'registry.invalid/shop:3',
    });
    // Evidence the controller saw the new template and held it: its status is for that generation
    // and names pool south as waiting.
    const held = await until('the controller to hold the new image for pool south', 60_000, async () => {
      const y = await yasNow();
      const c = rolloutOf(y);
      return y.status?.observedGeneration === y.metadata.generation &&
        c?.reason === 'PausedByUser' &&
        /waiting south$/.test(c.message ?? '')
        ? y
        : undefined;
    });
    expect(held.status?.observedGeneration).toBe(held.metadata.generation);
    expect((await deploymentsOf('shop'))[0]?.spec.template.spec.containers[0]?.image).toBe(
      'registry.invalid/shop:2',
    );
    // What the EdgeFleetRolloutPaused alert reads (resources/monitoring).
    const heldSeries =
      /^edgefleet_controller_yurtappset_rollout_held\{namespace="default",yurtappset="shop",reason="paused"\} 1$/m;
    const controllerMetrics = async () =>
      (await fetch(`http://127.0.0.1:${controller?.metricsPort}/metrics`)).text();
    expect(await controllerMetrics()).toMatch(heldSeries);
    await must('fleet:yurtappsets:setPaused', {
      clusterId: adminId,
      namespace: 'default',
      name: 'shop',
      paused: false,
    });
    expect((await yasNow()).metadata.annotations?.['apps.edgefleet.io/rollout-paused']).toBeUndefined();
    await until('the held-rollout series to go once resumed', 60_000, async () =>
      heldSeries.test(await controllerMetrics()) ? undefined : true,
    );
    await until('the held image to reach pool south after resume', 60_000, async () =>
      (await deploymentsOf('shop'))[0]?.spec.template.spec.containers[0]?.image === 'registry.invalid/shop:3'
        ? true
        : undefined,
    );
  });

  it('applied from a YAML manifest; a broken manifest names its line', async () => {
    const manifest = [
      'apiVersion: apps.openyurt.io/v1beta1',
      'kind: YurtAppSet',
      'metadata:',
      '  name: from-yaml',
      'spec:',
      '  pools: [south]',
      '  workload:',
      '    workloadTemplate:',
      '      deploymentTemplate:',
      '        metadata: {labels: {app: from-yaml}}',
      '        spec:',
      '          replicas: 1',
      '          selector: {matchLabels: {app: from-yaml}}',
      '          template:',
      '            metadata: {labels: {app: from-yaml}}',
      '            spec: {containers: [{name: c, image: registry.invalid/y:1}]}',
      '',
    ].join('\n');
    await must('fleet:yurtappsets:apply', { clusterId: adminId, manifest });
    await until('its Deployment', 60_000, async () =>
      (await deploymentsOf('from-yaml')).length === 1 ? true : undefined,
    );
    const bad = await call('fleet:yurtappsets:apply', {
      clusterId: adminId,
      manifest: 'kind: YurtAppSet\n  x: : y\n',
    });
    expect(bad.ok ? '' : bad.error.message).toMatch(/^Line 2, column/);
  });
});
