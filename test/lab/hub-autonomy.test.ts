import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { APP_IMAGE } from './images.ts';
import type { KubeletNode } from './kubelet.ts';
import {
  hubMetricsOn,
  startHubOn,
  startKubeletBehindHub,
  stopKubeletBehindHub,
  waitForHubOn,
} from './kubelet-hub.ts';
import { Lab } from './lab.ts';
import type { HostLink } from './net.ts';
import { sh } from './sh.ts';
import { until } from './until.ts';

/**
 * Node autonomy end to end (issue 3): a real kubelet (containerd + runc) whose only way to the API
 * server is the hub running inside the node's network namespace. With the node's link cut, the hub
 * is restarted, then kubelet, then the whole node reboots; pods must keep running (or be started
 * again by kubelet from the hub's cache after the reboot). When the link returns, the node is Ready
 * within 60 s, the statuses kubelet wrote offline reach the API, EndpointSlices carry the pods'
 * current IPs only, and no pod was recreated.
 *
 * Eviction: the Deployment's pods tolerate `unreachable`/`not-ready` NoExecute taints without a
 * time limit — what the controller's autonomy reconciler sets for nodes annotated
 * `node.openyurt.io/autonomy-duration: "0"` (the node carries the annotation too; the controller
 * itself is proven in controller.test.ts and is not run here).
 */
const NODE = 'kube-1';
const CONFIG_TEXT = 'greeting-from-configmap';
const SECRET_TEXT = 'token-from-secret';

interface PodJson {
  metadata: { name: string; uid: string };
  spec: { nodeName?: string };
  status: {
    phase?: string;
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: {
      name: string;
      restartCount: number;
      ready: boolean;
      state?: Record<string, unknown>;
    }[];
  };
}
interface EventJson {
  reason?: string;
  involvedObject: { uid?: string };
  lastTimestamp?: string | null;
  firstTimestamp?: string | null;
  eventTime?: string | null;
}
interface SliceJson {
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean }; targetRef?: { uid?: string } }[];
}
/** One running app container on the node, seen through containerd. */
interface NodeContainer {
  id: string;
  podUid: string;
  pid: number;
}

let lab: Lab | undefined;
let node: KubeletNode | undefined;
let link: HostLink | undefined;
let hubConfigPath = '';
const logLines: string[] = [];
const log = (line: string) => {
  logLines.push(line);
  process.stderr.write(`${line}\n`);
};

const kubectl = (args: string[], input?: string) =>
  (lab as Lab).cluster.kubectl(args, input ? { input } : {});
const kubectlJson = <T>(args: string[]) => (lab as Lab).cluster.kubectlJson<T>(args);
const theNode = () => node as KubeletNode;

const appPods = async () =>
  (await kubectlJson<{ items: PodJson[] }>(['get', 'pods', '-n', 'default', '-l', 'app=web', '-o', 'json']))
    .items;

async function nodeReady(): Promise<string> {
  const out = await kubectl([
    'get',
    'node',
    NODE,
    '-o',
    'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
  ]);
  return out.trim();
}

const hubMetrics = () => hubMetricsOn(theNode());
const metric = (m: Map<string, number>, name: string) => m.get(name) ?? 0;
/**
 * Sum of edgefleet_hub_requests_total for kubelet reads of `resource` that succeeded. Watches count
 * when they end; kubelet 1.36 lists by streaming watch (WatchList), so its logs say more (below).
 */
function kubeletReads(m: Map<string, number>, resource: string): number {
  let n = 0;
  for (const [k, v] of m) {
    if (
      k.startsWith('edgefleet_hub_requests_total{') &&
      k.includes('component="kubelet"') &&
      k.includes(`resource="${resource}"`) &&
      /verb="(get|list|watch)"/.test(k) &&
      k.includes('code="200"')
    )
      n += v;
  }
  return n;
}

/** Running app containers (not sandboxes) on the node, from containerd. */
async function runningAppContainers(): Promise<NodeContainer[]> {
  const tasks = await theNode().ctr(['tasks', 'ls']);
  const found: NodeContainer[] = [];
  for (const line of tasks.split('\n').slice(1)) {
    const [id, pid, status] = line.trim().split(/\s+/);
    if (!id || status !== 'RUNNING') continue;
    const info = JSON.parse(await theNode().ctr(['containers', 'info', id])) as {
      Labels?: Record<string, string>;
    };
    const labels = info.Labels ?? {};
    if (labels['io.kubernetes.container.name'] !== 'app') continue;
    found.push({ id, podUid: labels['io.kubernetes.pod.uid'] ?? '', pid: Number(pid) });
  }
  return found.sort((a, b) => a.podUid.localeCompare(b.podUid));
}

/** Asks the app in its own pod network namespace (loopback: the node's cut link does not matter). */
async function askApp(c: NodeContainer, path: string): Promise<string> {
  return sh('nsenter', [
    '-t',
    String(c.pid),
    '-n',
    '--',
    'curl',
    '-sS',
    '--max-time',
    '5',
    `http://127.0.0.1:8080${path}`,
  ]);
}

/** The pod's IPv4 address as the node sees it (eth0 in the pod's network namespace). */
async function podIpOnNode(c: NodeContainer): Promise<string> {
  const out = await sh('nsenter', [
    '-t',
    String(c.pid),
    '-n',
    '--',
    'ip',
    '-4',
    '-o',
    'addr',
    'show',
    'eth0',
  ]);
  const ip = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(out)?.[1];
  if (!ip) throw new Error(`no IPv4 address on eth0 of pod ${c.podUid}: ${out}`);
  return ip;
}

/** The app's container log (kubelet's pod log dir on the node's disk), all restarts. */
async function appLog(podUid: string): Promise<string> {
  const podLogs = join(theNode().nodeDir, 'logs', 'pods');
  const dir = (await readdir(podLogs)).find((d) => d.endsWith(`_${podUid}`));
  if (!dir) throw new Error(`no pod log dir for ${podUid} in ${podLogs}`);
  const files = (await readdir(join(podLogs, dir, 'app'))).sort();
  return (await Promise.all(files.map((f) => readFile(join(podLogs, dir, 'app', f), 'utf8')))).join('');
}

/**
 * The container's log once it holds `text` (or after 10 s, for the assertion to show what it holds):
 * the runtime writes the app's stdout to the file after the app has answered the request.
 */
async function appLogWith(podUid: string, text: string): Promise<string> {
  return until(`${text} in the log of pod ${podUid}`, 10_000, async () => {
    const log = await appLog(podUid);
    return log.includes(text) ? log : undefined;
  }).catch(() => appLog(podUid));
}

/** The ConfigMap and Secret files kubelet mounted for a pod (inside the node's mount namespace). */
async function mountedVolumes(podUid: string): Promise<{ config: string; secret: string }> {
  const pods = join(theNode().nodeDir, 'kubelet', 'pods', podUid, 'volumes');
  const [config, secret] = await Promise.all([
    theNode().inside('cat', [join(pods, 'kubernetes.io~configmap', 'config', 'greeting')]),
    theNode().inside('cat', [join(pods, 'kubernetes.io~secret', 'secret', 'token')]),
  ]);
  return { config, secret };
}

const startHub = () => startHubOn(theNode(), hubConfigPath);

/** What kubelet's informers loaded (its log since `from`): pods, its node, the pods' ConfigMap and Secret. */
async function kubeletSynced(from: number): Promise<boolean> {
  const text = (await kubeletLog()).slice(from);
  return [
    'Caches populated" type="*v1.Pod"',
    'Caches populated" type="*v1.Node"',
    'Caches populated" type="*v1.Secret" reflector="object-\\"default\\"/\\"web-secret\\""',
    'Caches populated" type="*v1.ConfigMap" reflector="object-\\"default\\"/\\"web-config\\""',
  ].every((needle) => text.includes(needle));
}

/**
 * Whether kubelet's log (from a restart on) shows a "SyncLoop ADD" carrying `pods` pods of the
 * app, followed by two finished housekeeping passes (the pass that removes pods kubelet was not
 * given; needs --v=4).
 */
function housekeptAfterAdd(text: string, pods: number): boolean {
  const add = [...text.matchAll(/"SyncLoop ADD" source="api" pods=\[([^\]]*)\]/g)].find(
    (m) => (m[1]?.match(/default\/web-/g)?.length ?? 0) >= pods,
  );
  if (add?.index === undefined) return false;
  const after = text.slice(add.index);
  return (after.match(/"SyncLoop \(housekeeping\) end"/g)?.length ?? 0) >= 2;
}

const hubLog = () => readFile(join(theNode().logDir, 'hub.log'), 'utf8');
const kubeletLog = () => readFile(join(theNode().logDir, 'kubelet.log'), 'utf8');

function app() {
  const labels = { app: 'web' };
  return [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'web-config' },
      data: { greeting: CONFIG_TEXT },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'web-secret' },
      stringData: { token: SECRET_TEXT },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', labels },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            nodeName: NODE,
            terminationGracePeriodSeconds: 5,
            // The default service-account token is mounted: kubelet mints it with TokenRequest (a
            // create), which the hub answers from its encrypted token cache after an offline reboot.
            tolerations: [
              { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
              { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
            ],
            containers: [
              {
                name: 'app',
                image: APP_IMAGE,
                imagePullPolicy: 'Never',
                args: ['serve', '8080'],
                ports: [{ containerPort: 8080, name: 'http' }],
                volumeMounts: [
                  { name: 'config', mountPath: '/etc/web' },
                  { name: 'secret', mountPath: '/etc/web-secret', readOnly: true },
                ],
              },
            ],
            volumes: [
              { name: 'config', configMap: { name: 'web-config' } },
              { name: 'secret', secret: { secretName: 'web-secret' } },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    },
  ];
}

async function sliceAddresses(): Promise<{ ip: string; ready: boolean; uid: string }[]> {
  const slices = await kubectlJson<{ items: SliceJson[] }>([
    'get',
    'endpointslices',
    '-n',
    'default',
    '-l',
    'kubernetes.io/service-name=web',
    '-o',
    'json',
  ]);
  return slices.items
    .flatMap((s) =>
      (s.endpoints ?? []).flatMap((e) =>
        e.addresses.map((ip) => ({ ip, ready: e.conditions?.ready === true, uid: e.targetRef?.uid ?? '' })),
      ),
    )
    .sort((a, b) => a.uid.localeCompare(b.uid));
}

// What the test saw before the cut, compared after each step.
let uidsBefore: string[] = [];
let ipsBefore: string[] = [];
let containersBefore: NodeContainer[] = [];
let containersAfterReboot: NodeContainer[] = [];
let rebootAt = 0;

/** When kubelet says an event happened (its own clock: the lab's nodes share the host's). */
function eventTime(e: EventJson): number {
  return Date.parse(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? '');
}

beforeAll(async () => {
  lab = await Lab.start({ log });
  ({ node, link, hubConfigPath } = await startKubeletBehindHub(lab, NODE, 101, log, {}, { verbosity: 4 }));
  await startHub();
  await until(`node ${NODE} Ready through the hub`, 180_000, async () =>
    (await nodeReady()) === 'True' ? true : undefined,
  );
  await kubectl(['annotate', 'node', NODE, 'node.openyurt.io/autonomy-duration=0', '--overwrite']);
  await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: app() }));
}, 600_000);

afterAll(() => stopKubeletBehindHub(lab, node, link, log), 180_000);

describe('node autonomy with the real kubelet behind the hub', () => {
  test('pods with a ConfigMap and a Secret run through the hub; the Service has their endpoints', async () => {
    const pods = await until('2 web pods Running and Ready', 180_000, async () => {
      const p = await appPods();
      return p.length === 2 &&
        p.every(
          (x) =>
            x.status.phase === 'Running' &&
            x.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        )
        ? p
        : undefined;
    });
    uidsBefore = pods.map((p) => p.metadata.uid).sort();
    ipsBefore = pods.map((p) => p.status.podIP ?? '').sort();
    containersBefore = await runningAppContainers();
    expect(containersBefore.map((c) => c.podUid)).toEqual(uidsBefore);
    for (const c of containersBefore) {
      expect(await mountedVolumes(c.podUid)).toEqual({ config: CONFIG_TEXT, secret: SECRET_TEXT });
      const pod = pods.find((p) => p.metadata.uid === c.podUid);
      expect(await podIpOnNode(c)).toBe(pod?.status.podIP);
    }
    const ips = pods.map((p) => p.status.podIP).sort();
    await until('EndpointSlice with both pod IPs ready', 60_000, async () => {
      const a = await sliceAddresses();
      return a.length === 2 &&
        a.every((e) => e.ready) &&
        JSON.stringify(a.map((e) => e.ip).sort()) === JSON.stringify(ips)
        ? true
        : undefined;
    });
    // Everything kubelet knows came through the hub, which cached what autonomy needs on the node's
    // disk (one file per object, per component) — the Secret encrypted, never in clear.
    expect(metric(await hubMetrics(), 'edgefleet_hub_cloud_healthy')).toBe(1);
    const cache = join(theNode().nodeDir, 'hub', 'cache', 'kubelet');
    const cached = [
      ...pods.map((p) => join(cache, 'pods.v1.core', 'default', p.metadata.name)),
      join(cache, 'configmaps.v1.core', 'default', 'web-config'),
      join(cache, 'secrets.v1.core', 'default', 'web-secret'),
      join(cache, 'nodes.v1.core', NODE),
    ];
    await until('kubelet objects in the hub cache', 30_000, async () =>
      (
        await Promise.all(
          cached.map((f) =>
            readFile(f).then(
              () => true,
              () => false,
            ),
          ),
        )
      ).every(Boolean)
        ? true
        : undefined,
    );
    expect(
      (await readFile(join(cache, 'secrets.v1.core', 'default', 'web-secret'))).includes(SECRET_TEXT),
    ).toBe(false);
  }, 300_000);

  test('link cut: the cloud marks the node NotReady, the pods stay bound and running', async () => {
    await link?.cutLink();
    await until('the hub to see the cloud unreachable', 60_000, async () =>
      metric(await hubMetrics(), 'edgefleet_hub_cloud_healthy') === 0 ? true : undefined,
    );
    await until('the node NotReady/Unknown in the API', 120_000, async () =>
      (await nodeReady()) !== 'True' ? true : undefined,
    );
    expect((await appPods()).map((p) => p.metadata.uid).sort()).toEqual(uidsBefore);
    expect(await runningAppContainers()).toEqual(containersBefore);
  }, 240_000);

  test('offline hub restart: kubelet reads pods, ConfigMaps and Secrets from the new hub’s cache; containers untouched', async () => {
    await theNode().stopInside('hub');
    const spawnedAt = Date.now();
    await startHub();
    // The proxy listens before the first cloud probe ends (a probe of the cut link times out after
    // 5 s; the hub used to wait for three of them). waitForHub polls once a second.
    const listeningAfterMs = Date.now() - spawnedAt;
    log(`[test] offline hub listening ${(listeningAfterMs / 1000).toFixed(1)} s after spawn`);
    expect(listeningAfterMs).toBeLessThan(6_000);
    const start = await hubMetrics();
    expect(metric(start, 'edgefleet_hub_cloud_healthy')).toBe(0);
    // kubelet re-lists what its watches were following once the hub is back.
    await until('kubelet to re-list pods from the restarted hub', 90_000, async () =>
      kubeletReads(await hubMetrics(), 'pods') > 0 ? true : undefined,
    );
    const m = await hubMetrics();
    expect(metric(m, 'edgefleet_hub_cloud_healthy')).toBe(0);
    expect(metric(m, 'edgefleet_hub_cache_hits_total')).toBeGreaterThan(0);
    expect(await runningAppContainers()).toEqual(containersBefore);
    for (const c of containersBefore) {
      expect(await askApp(c, '/after-hub-restart')).toContain('/after-hub-restart');
      expect(await appLogWith(c.podUid, 'GET /after-hub-restart')).toContain('GET /after-hub-restart');
    }
  }, 180_000);

  test('offline kubelet restart: kubelet gets its pods from the hub and kills nothing', async () => {
    const before = await hubMetrics();
    const logStart = (await kubeletLog()).length;
    await theNode().restartKubelet();
    // The link is cut: whatever kubelet's informers load comes from the hub's cache.
    await until(
      'restarted kubelet to load its node, pods, ConfigMap and Secret from the hub',
      150_000,
      async () => ((await kubeletSynced(logStart)) ? true : undefined),
    );
    expect(metric(await hubMetrics(), 'edgefleet_hub_cache_hits_total')).toBeGreaterThan(
      metric(before, 'edgefleet_hub_cache_hits_total'),
    );
    // An empty pod list would make kubelet's housekeeping kill everything: wait until kubelet has
    // both pods from the hub and has run housekeeping twice since, then look at what still runs.
    await until('restarted kubelet to get both pods and run housekeeping on them', 120_000, async () =>
      housekeptAfterAdd((await kubeletLog()).slice(logStart), uidsBefore.length) ? true : undefined,
    );
    expect(await runningAppContainers()).toEqual(containersBefore);
    for (const c of containersBefore) expect(await askApp(c, '/after-kubelet-restart')).toContain('lab-app');
    const newLog = (await kubeletLog()).slice(logStart);
    expect(newLog).not.toMatch(/Failed to watch \*v1\.Pod|failed to list \*v1\.Pod|Killing container/);
    expect(theNode().pidOf('kubelet')).toBeDefined();
  }, 240_000);

  test('offline reboot: containers die; kubelet starts the same pods again from the hub’s cache', async () => {
    const logStart = (await kubeletLog()).length;
    rebootAt = Date.now();
    // The hub is a unit kubelet starts after (as provisioning orders them on a real node).
    await theNode().reboot({ log, beforeKubelet: () => waitForHubOn(theNode()) });
    const after = await until('both pods running again on the node', 240_000, async () => {
      const c = await runningAppContainers();
      return c.length === 2 && JSON.stringify(c.map((x) => x.podUid)) === JSON.stringify(uidsBefore)
        ? c
        : undefined;
    });
    // New containers (the old ones died with the node) for the same pods.
    for (const c of after) expect(containersBefore.map((b) => b.id)).not.toContain(c.id);
    for (const c of after) {
      // Volume mounts were in RAM: kubelet rebuilt them from the hub's cached ConfigMap and Secret.
      expect(await mountedVolumes(c.podUid)).toEqual({ config: CONFIG_TEXT, secret: SECRET_TEXT });
      expect(await askApp(c, '/after-reboot')).toContain('/after-reboot');
      const log = await appLogWith(c.podUid, 'GET /after-reboot');
      expect(log).toContain('GET /after-reboot');
      expect(log.match(/lab-app: listening on :8080/g)?.length ?? 0).toBeGreaterThanOrEqual(2);
    }
    const m = await hubMetrics();
    expect(metric(m, 'edgefleet_hub_cloud_healthy')).toBe(0);
    expect(metric(m, 'edgefleet_hub_cache_hits_total')).toBeGreaterThan(0);
    // The pods' service-account tokens (projected volume, RAM-backed) came from the token cache.
    expect(metric(m, 'edgefleet_hub_token_cache_served_offline_total')).toBeGreaterThanOrEqual(2);
    expect(await kubeletSynced(logStart)).toBe(true);
    const newLog = (await kubeletLog()).slice(logStart);
    expect(newLog).not.toMatch(/failed to list \*v1\.Pod|Failed to watch \*v1\.Pod/);
    containersAfterReboot = after;
  }, 360_000);

  test('link restored: Ready within 60 s, offline statuses reach the API, EndpointSlices hold the current IPs, no pod recreated', async () => {
    const t0 = Date.now();
    await link?.restoreLink();
    await until('node Ready again', 60_000, async () => ((await nodeReady()) === 'True' ? true : undefined));
    log(`[test] node Ready ${((Date.now() - t0) / 1000).toFixed(1)} s after the link came back`);
    // Events kubelet wrote while offline (after the reboot: sandbox re-created, container started —
    // sent as protobuf) were journaled byte for byte and reach the API on replay.
    const offlineEvents = await until('events kubelet emitted offline in the API', 60_000, async () => {
      const evs = (
        await kubectlJson<{ items: EventJson[] }>(['get', 'events', '-n', 'default', '-o', 'json'])
      ).items;
      const during = evs.filter(
        (e) =>
          uidsBefore.includes(e.involvedObject.uid ?? '') &&
          eventTime(e) >= rebootAt - 1_000 &&
          eventTime(e) <= t0,
      );
      return uidsBefore.every((uid) => during.some((e) => e.involvedObject.uid === uid)) ? during : undefined;
    });
    log(`[test] offline events replayed: ${offlineEvents.map((e) => e.reason).join(', ')}`);
    const ipsOnNode = new Map<string, string>();
    for (const c of containersAfterReboot) ipsOnNode.set(c.podUid, await podIpOnNode(c));
    // The scenario of OpenYurt #2810: the reboot gave the pods new addresses, so old ones are stale.
    expect([...ipsOnNode.values()].sort(), 'pod IPs after the reboot').not.toEqual(ipsBefore);
    // The API shows the node's view: same pods, their new IPs, one restart each, Ready.
    const pods = await until('pod statuses in the API to match the node', 60_000, async () => {
      const p = await appPods();
      const ok = p.every(
        (x) =>
          x.status.podIP === ipsOnNode.get(x.metadata.uid) &&
          x.status.phase === 'Running' &&
          x.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') &&
          (x.status.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
      );
      return ok && p.length === 2 ? p : undefined;
    });
    expect(pods.map((p) => p.metadata.uid).sort()).toEqual(uidsBefore);
    const expected = [...ipsOnNode.entries()]
      .map(([uid, ip]) => ({ ip, ready: true, uid }))
      .sort((a, b) => a.uid.localeCompare(b.uid));
    await until('EndpointSlices with only the current pod IPs', 60_000, async () =>
      JSON.stringify(await sliceAddresses()) === JSON.stringify(expected) ? true : undefined,
    );
    expect(await sliceAddresses()).toEqual(expected);
    // The journal was replayed and emptied.
    await until('journal replayed', 60_000, async () =>
      metric(await hubMetrics(), 'edgefleet_hub_journal_entries') === 0 ? true : undefined,
    );
    const replays = (await hubLog())
      .split('\n')
      .filter((l) => l.includes('"journal.replayed"'))
      .map((l) => JSON.parse(l) as { applied: number; conflictsResolved: number });
    expect(replays.reduce((n, r) => n + r.applied + r.conflictsResolved, 0)).toBeGreaterThan(0);
    // Node and pod statuses must all land; rejected events are only reported (see the hub's journal).
    const rejected = (await hubLog())
      .split('\n')
      .filter((l) => l.includes('"journal.entry_rejected"'))
      .map((l) => JSON.parse(l) as { kind: string; status: number; path: string });
    for (const r of rejected)
      log(`[test] journal entry rejected on replay: ${r.kind} ${r.path} -> ${r.status}`);
    expect(rejected.filter((r) => r.kind !== 'event')).toEqual([]);
    expect(metric(await hubMetrics(), 'edgefleet_hub_journal_stale_status_dropped_total')).toBe(0);
    // The Deployment never replaced a pod.
    const rs = await kubectlJson<{ items: { status: { replicas: number } }[] }>([
      'get',
      'rs',
      '-n',
      'default',
      '-l',
      'app=web',
      '-o',
      'json',
    ]);
    expect(rs.items.length).toBe(1);
  }, 240_000);
});
