/**
 * Live cluster state against a real kube-apiserver: snapshot, batched diffs, unreachable with the
 * last-known snapshot when the API server stops, connected again after it restarts, and
 * "forbidden" for a resource an RBAC-limited user may not list.
 */
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClustersService } from '../../src-main/clusters/service.ts';
import type { EventChannel, EventMap } from '../../src-main/ipc/contract.ts';
import type { ClusterDiff, ClusterSnapshot, ResourceKind, WireByKind } from '../../src-main/ipc/types.ts';
import { ClusterMirror } from '../../src-renderer/store/mirror.ts';
import { sessionClusterSources } from './app-sources.ts';
import { Cluster } from './cluster.ts';

/** What a renderer does: the renderer's own mirror, fed the snapshot and then diffs in sequence (a gap would be a bug here). */
class Mirror {
  readonly inner = new ClusterMirror();
  readonly diffs: ClusterDiff[] = [];

  get meta() {
    return this.inner.meta;
  }

  get gaps() {
    return this.inner.gaps;
  }

  onSnapshot(s: ClusterSnapshot) {
    this.inner.applySnapshot(structuredClone(s));
  }

  onDiff(d: ClusterDiff) {
    this.diffs.push(d);
    this.inner.applyDiff(d);
  }

  items<K extends ResourceKind>(kind: K): WireByKind[K][] {
    return [...this.inner.data.objects[kind].values()] as WireByKind[K][];
  }

  names(kind: ResourceKind): string[] {
    return this.items(kind)
      .map((o) => o.name)
      .sort();
  }
}

async function until<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let dir: string;
let cluster: Cluster | undefined;
let service: ClustersService | undefined;
const mirrors = new Map<string, Mirror>();
const mirror = (id: string) => {
  let m = mirrors.get(id);
  if (!m) {
    m = new Mirror();
    mirrors.set(id, m);
  }
  return m;
};
let adminId = '';
let viewerId = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ef-clusters-lab-'));
  cluster = await Cluster.start({
    dir: join(dir, 'cluster'),
    bindAddress: '127.0.0.1',
    serviceCidr: '198.19.0.0/20',
  });
  // Pods need the namespace's default ServiceAccount, which kube-controller-manager creates shortly after start.
  const c = cluster;
  await until(
    'default ServiceAccount',
    () =>
      c.kubectl(['get', 'serviceaccount', 'default', '-n', 'default']).then(
        () => true,
        () => false,
      ),
    60_000,
  );
  const crds = join(process.cwd(), 'resources', 'crds');
  for (const f of await readdir(crds)) await cluster.kubectl(['apply', '-f', join(crds, f)]);

  // A user who may read everything we watch except pods.
  const viewer = await cluster.pki.issueClientCert('viewer', 'edgefleet-viewer');
  const viewerKubeconfig = await cluster.pki.writeKubeconfig(join(dir, 'viewer.kubeconfig'), {
    server: cluster.apiServerUrl,
    user: 'viewer',
    client: viewer,
  });
  await cluster.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRole',
          metadata: { name: 'edgefleet-viewer' },
          rules: [
            { apiGroups: [''], resources: ['nodes', 'services', 'events'], verbs: ['list', 'watch'] },
            { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
            { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['list', 'watch'] },
            {
              apiGroups: ['apps.openyurt.io'],
              resources: ['nodepools', 'yurtappsets'],
              verbs: ['list', 'watch'],
            },
          ],
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRoleBinding',
          metadata: { name: 'edgefleet-viewer' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edgefleet-viewer' },
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'edgefleet-viewer' }],
        },
      ],
    }),
  });

  const sources = await sessionClusterSources(dir, viewerKubeconfig);
  const emit = <E extends EventChannel>(channel: E, payload: EventMap[E]) => {
    if (channel === 'cluster:snapshot')
      mirror((payload as ClusterSnapshot).clusterId).onSnapshot(payload as ClusterSnapshot);
    if (channel === 'cluster:diff') mirror((payload as ClusterDiff).clusterId).onDiff(payload as ClusterDiff);
  };
  service = new ClustersService(sources, emit, {
    batchMs: 200,
    unreachableAfterMs: 3_000,
    watcher: { backoffMinMs: 200, backoffMaxMs: 1_000, requestTimeoutMs: 5_000, slowRetryMs: 5_000 },
  });
  const imported = await service.importFile(cluster.kubeconfigPath, 'lab admin');
  adminId = imported.contexts[0]?.clusterId as string;
  const viewerSource = (await service.listSources()).find((s) => s.kind === 'env');
  viewerId = viewerSource?.contexts[0]?.clusterId as string;
});

afterAll(async () => {
  try {
    await service?.stopAll();
  } finally {
    try {
      await cluster?.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
});

describe('clusters against a real API server', () => {
  it('two sources with the same context name stay separate clusters', () => {
    expect(adminId).toMatch(/^imported-[0-9a-f]+\/lab$/);
    expect(viewerId).toMatch(/^env-[0-9a-f]+\/lab$/);
  });

  it('sends a snapshot, then a node and a burst of pods as a few batched diffs', async () => {
    const first = await service?.watch(adminId);
    expect(first?.clusterId).toBe(adminId);
    const m = mirror(adminId);
    await until(
      'nodes and nodepools synced',
      () => m.meta?.states.nodes.status === 'synced' && m.meta?.states.nodepools.status === 'synced',
    );
    expect(m.meta?.connection.state).toBe('connected');
    // Controller Leases are listed after nodes and pools: until then the flavor is "still reading".
    await until('the flavor decided', () => m.meta?.flavor.kind !== 'unknown');
    expect(m.meta?.flavor.kind).toBe('none');

    await cluster?.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: 'edge-1', labels: { 'apps.openyurt.io/nodepool': 'site-a' } },
      }),
    });
    await until('node edge-1', () => m.names('nodes').includes('edge-1'));

    const before = m.diffs.length;
    const pods = Array.from({ length: 12 }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `burst-${i}`, namespace: 'default' },
      spec: { nodeName: 'edge-1', containers: [{ name: 'c', image: 'registry.invalid/none:1' }] },
    }));
    await cluster?.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: pods }),
    });
    await until('12 pods', () => m.names('pods').filter((n) => n.startsWith('burst-')).length === 12);
    const podDiffs = m.diffs.slice(before).filter((d) => d.resources.pods);
    const podUpserts = podDiffs.reduce((n, d) => n + (d.resources.pods?.upserts.length ?? 0), 0);
    expect(podUpserts).toBeGreaterThanOrEqual(12);
    expect(podDiffs.length).toBeLessThan(12);
    const sample = m.items('pods').find((p) => p.name === 'burst-0');
    // The wire shape: what views show, not the pod spec.
    expect(sample).toMatchObject({
      name: 'burst-0',
      namespace: 'default',
      node: 'edge-1',
      image: 'registry.invalid/none:1',
    });
    expect(sample).not.toHaveProperty('spec');
    expect(sample).not.toHaveProperty('metadata');

    // Our controller's leader Lease appears → flavor switches to EdgeFleet.
    await cluster?.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'edgefleet-controller', namespace: 'kube-system' },
        spec: { holderIdentity: 'controller-0', leaseDurationSeconds: 15 },
      }),
    });
    await until('flavor edgefleet', () => m.meta?.flavor.kind === 'edgefleet');

    // No kubelet runs edge-1, so only a forced delete removes the object right away.
    await cluster?.kubectl(['delete', 'pod', 'burst-3', '--grace-period=0', '--force']);
    await until('burst-3 removed', () => !m.names('pods').includes('burst-3'), 30_000);

    // The mirror built from snapshot + diffs equals main's own view.
    const truth = await service?.snapshot(adminId);
    for (const kind of ['nodes', 'pods', 'nodepools'] as const) {
      expect(m.names(kind)).toEqual((truth?.resources[kind].items ?? []).map((o) => o.name).sort());
    }
    expect(m.gaps).toBe(0);
  });

  it('an RBAC-limited user sees "forbidden" for pods and live data for the rest', async () => {
    await service?.watch(viewerId);
    const m = mirror(viewerId);
    await until('pods forbidden', () => m.meta?.states.pods.status === 'forbidden');
    await until('nodes synced', () => m.meta?.states.nodes.status === 'synced');
    expect(m.meta?.states.pods.message).toMatch(/forbidden/i);
    expect(m.items('pods')).toEqual([]);
    expect(m.names('nodes')).toContain('edge-1');
  });

  it('API server down → unreachable with the last-known snapshot; back up → connected and live again', async () => {
    const c = cluster as Cluster;
    const m = mirror(adminId);
    const record = c.processes.get('kube-apiserver');
    expect(record).toBeDefined();
    const spec = { name: 'kube-apiserver', file: record?.file as string, args: [...(record?.args ?? [])] };
    await c.processes.stop('kube-apiserver');
    try {
      const down = await until(
        'unreachable',
        () => (m.meta?.connection.state === 'unreachable' ? m.meta : false),
        60_000,
      );
      expect(down.connection.lastContactAt).toBeTruthy();
      expect(down.connection.lastError?.message).toMatch(/ECONNREFUSED|socket hang up|ECONNRESET|aborted/);
      const last = await service?.snapshot(adminId);
      expect(last?.connection.state).toBe('unreachable');
      expect(last?.resources.nodes.items.map((n) => n.name)).toContain('edge-1');
      expect(Date.now() - Date.parse(last?.connection.lastContactAt as string)).toBeGreaterThanOrEqual(3_000);
    } finally {
      // Back up whatever happened above: the tests after this one need the API server.
      c.processes.start(spec);
    }
    await until('connected again', () => m.meta?.connection.state === 'connected', 120_000);
    await c.kubectl(['label', 'node', 'edge-1', 'after-restart=yes']);
    await until('label after restart', () =>
      m.items('nodes').some((n) => n.name === 'edge-1' && n.labels?.['after-restart'] === 'yes'),
    );
    expect(m.gaps).toBe(0);
  });

  it('a kubeconfig whose user is an exec credential plugin: the plugin runs, its token is used; a failing plugin is named', async () => {
    const c = cluster as Cluster;
    await c.kubectl(['create', 'serviceaccount', '-n', 'default', 'plugin-user']);
    await c.kubectl([
      'create',
      'clusterrolebinding',
      'plugin-user-viewer',
      '--clusterrole=edgefleet-viewer',
      '--serviceaccount=default:plugin-user',
    ]);
    const token = (await c.kubectl(['create', 'token', '-n', 'default', 'plugin-user'])).trim();
    // A real plugin, as cloud CLIs are: a program that prints an ExecCredential on stdout. It logs
    // each call so the test sees it really ran.
    const calls = join(dir, 'plugin-calls.log');
    const plugin = join(dir, 'edgefleet-test-plugin');
    const credential = JSON.stringify({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token },
    });
    await writeFile(
      plugin,
      `#!/bin/sh\nif [ "$1" = fail ]; then echo "plugin: your SSO session has expired, run sso-login" >&2; exit 1; fi\necho called >> '${calls}'\necho '${credential}'\n`,
    );
    await chmod(plugin, 0o755);
    const server = c.apiServerUrl;
    const ca = (await readFile(c.caCertPath)).toString('base64');
    const kubeconfig = (name: string, args: string[]) =>
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{name: lab, cluster: {server: "${server}", certificate-authority-data: "${ca}"}}]`,
        `users: [{name: sso, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: "${plugin}", args: ${JSON.stringify(args)}, interactiveMode: Never}}}]`,
        `contexts: [{name: ${name}, context: {cluster: lab, user: sso}}]`,
        `current-context: ${name}`,
        '',
      ].join('\n');
    await writeFile(join(dir, 'sso.kubeconfig'), kubeconfig('sso', []));
    await writeFile(join(dir, 'expired.kubeconfig'), kubeconfig('expired', ['fail']));
    const svc = service as ClustersService;
    const ssoId = (await svc.importFile(join(dir, 'sso.kubeconfig'), 'sso')).contexts[0]?.clusterId as string;
    await svc.watch(ssoId);
    const sso = mirror(ssoId);
    // The plugin's identity is the ServiceAccount's: it may list nodes but not pods (edgefleet-viewer).
    await until(
      'nodes synced through the plugin credential',
      () => sso.meta?.states.nodes.status === 'synced',
    );
    await until('pods forbidden for the plugin identity', () => sso.meta?.states.pods.status === 'forbidden');
    expect(sso.meta?.connection.state).toBe('connected');
    expect(sso.meta?.states.pods.message).toMatch(/system:serviceaccount:default:plugin-user/);
    const nodes = await c.kubectlJson<{ items: { metadata: { name: string } }[] }>(['get', 'nodes']);
    expect(sso.names('nodes')).toEqual(nodes.items.map((n) => n.metadata.name).sort());
    expect((await readFile(calls, 'utf8')).split('\n')).toContain('called');

    const expiredId = (await svc.importFile(join(dir, 'expired.kubeconfig'), 'expired')).contexts[0]
      ?.clusterId as string;
    await svc.watch(expiredId);
    const expired = mirror(expiredId);
    const failed = await until(
      'the plugin failure to show',
      () => (expired.meta?.connection.lastError ? expired.meta : false),
      60_000,
    );
    expect(failed.connection.state).not.toBe('connected');
    expect(failed.connection.lastError?.message).toMatch(/SSO session has expired/);
    expect(expired.items('nodes')).toEqual([]);
  });

  it('settings of the imported admin source hold no private key', async () => {
    const text = await readFile(join(dir, 'config', 'settings.json'), 'utf8');
    const admin = await readFile(cluster?.kubeconfigPath as string, 'utf8');
    const key = /"client-key-data":\s*"([^"]+)"/.exec(admin)?.[1];
    expect(key).toBeTruthy();
    expect(text).not.toContain(key as string);
    expect(text).toContain('keyDataRef');
  });
});
