import { readFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hub } from '../../src-agent/hub/hub.ts';
import { MemoryLogger } from '../../src-agent/hub/log.ts';
import type { Cluster } from './cluster.ts';
import {
  LoopbackLink,
  loopbackHubConfig,
  selfSubjectReviewVia,
  startHubLabCluster,
  waitForDefaultServiceAccount,
} from './hub-support.ts';

const NODE = 'hub-node-1';
const KUBELET = 'kubelet/v1.36.3 (linux/amd64) kubernetes/lab';

interface Reply {
  status: number;
  body: string;
}

function viaHub(hub: Hub, method: string, path: string, body?: unknown, ua = KUBELET): Promise<Reply> {
  const [host, port] = hub.proxyAddress.split(':');
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host, port, method, path, headers: { 'user-agent': ua, 'content-type': 'application/json' } },
      (res) => {
        let b = '';
        res.on('data', (c) => {
          b += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

let dir = '';
let cluster: Cluster | undefined;
let hub: Hub | undefined;
let link: LoopbackLink;
let nodeCert: { cert: string; key: string };
let hubKubeconfig = '';

function direct(method: string, path: string): Promise<Reply> {
  const u = new URL(cluster?.apiServerUrl ?? '');
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: u.hostname,
        port: u.port,
        method,
        path,
        ca: readFileSync(cluster?.caCertPath ?? ''),
        cert: readFileSync(nodeCert.cert),
        key: readFileSync(nodeCert.key),
        headers: { accept: 'application/json' },
      },
      (res) => {
        let b = '';
        res.on('data', (c) => {
          b += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function cutLink(): Promise<void> {
  await link.cut();
  await hub?.probeNow();
  expect(hub?.isCloudHealthy()).toBe(false);
}

async function restoreLink(): Promise<void> {
  await link.up();
  await hub?.probeNow();
  await hub?.probeNow();
  expect(hub?.isCloudHealthy()).toBe(true);
}

beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'edgefleet-hub-lab-'));
  cluster = await startHubLabCluster(dir);
  const apiPort = Number(new URL(cluster.apiServerUrl).port);
  await waitForDefaultServiceAccount(cluster, 'default', 120, 500);
  await cluster.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: { name: NODE, labels: { 'openyurt.io/is-edge-worker': 'true' } },
        },
        ...['web-1', 'web-2', 'db-1'].map((name) => ({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name, namespace: 'default', labels: { app: name.split('-')[0] } },
          spec: { nodeName: NODE, containers: [{ name: 'c', image: 'example.invalid/none:1' }] },
        })),
      ],
    }),
  });
  nodeCert = await cluster.pki.issueClientCert('hub-node-1', `system:node:${NODE}`, ['system:nodes']);
  link = new LoopbackLink(apiPort);
  await link.up();
  const config = await loopbackHubConfig({
    nodeName: NODE,
    server: `https://127.0.0.1:${link.port}`,
    cert: nodeCert,
    caFile: cluster.caCertPath,
    dir,
  });
  hub = await Hub.start(config, { log: new MemoryLogger() });
  hubKubeconfig = join(dir, 'hub.kubeconfig');
  await fsp.writeFile(
    hubKubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'hub', cluster: { server: `http://${hub.proxyAddress}` } }],
      users: [{ name: 'none', user: {} }],
      contexts: [{ name: 'hub', context: { cluster: 'hub', user: 'none' } }],
      'current-context': 'hub',
    }),
  );
});

afterAll(async () => {
  try {
    await hub?.close();
    await link?.cut();
  } finally {
    await cluster?.stop();
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

describe('hub against a real kube-apiserver', () => {
  it('renews the node Lease with the node certificate', async () => {
    expect(hub?.isCloudHealthy()).toBe(true);
    const lease = await cluster?.kubectlJson<{ spec: { holderIdentity: string; renewTime: string } }>([
      'get',
      'lease',
      '-n',
      'kube-node-lease',
      NODE,
    ]);
    expect(lease?.spec.holderIdentity).toBe(NODE);
    expect(Date.now() - Date.parse(lease?.spec.renewTime ?? '')).toBeLessThan(60_000);
  });

  it('kubectl through the hub sees what direct access sees', async () => {
    // Through the hub kubectl acts as the node (the Node authorizer limits it to its own objects).
    const viaHubNode = await cluster?.kubectl([
      '--kubeconfig',
      hubKubeconfig,
      'get',
      'node',
      NODE,
      '-o',
      'name',
    ]);
    expect(viaHubNode).toBe(await cluster?.kubectl(['get', 'node', NODE, '-o', 'name']));
    const sel = ['--field-selector', `spec.nodeName=${NODE}`];
    const hubPods = await cluster?.kubectl([
      '--kubeconfig',
      hubKubeconfig,
      'get',
      'pods',
      '-A',
      ...sel,
      '-o',
      'name',
    ]);
    const directPods = await cluster?.kubectl(['get', 'pods', '-A', ...sel, '-o', 'name']);
    expect(hubPods).toBe(directPods);
    expect(hubPods).toContain('pod/web-1');
    const whoami = await cluster?.kubectl([
      '--kubeconfig',
      hubKubeconfig,
      'auth',
      'whoami',
      '-o',
      'jsonpath={.status.userInfo.username}',
    ]);
    expect(whoami).toBe(`system:node:${NODE}`);
  });

  it("a request with its own bearer token keeps its identity (not the node's)", async () => {
    await cluster?.kubectl(['create', 'serviceaccount', '-n', 'default', 'hub-probe']);
    const token = (await cluster?.kubectl(['create', 'token', '-n', 'default', 'hub-probe']))?.trim() ?? '';
    const review = await selfSubjectReviewVia((hub as Hub).proxyAddress, token);
    const who = JSON.parse(review).status.userInfo.username;
    expect(who).toBe('system:serviceaccount:default:hub-probe');
  });

  it('kubelet-shaped lists fill the cache and are served from it when the link is cut', async () => {
    const all = await viaHub(hub as Hub, 'GET', `/api/v1/pods?fieldSelector=spec.nodeName%3D${NODE}`);
    expect(all.status).toBe(200);
    const web = await viaHub(
      hub as Hub,
      'GET',
      `/api/v1/pods?fieldSelector=spec.nodeName%3D${NODE}&labelSelector=app%3Dweb`,
    );
    expect(web.status, web.body).toBe(200);
    expect(JSON.parse(web.body).items.length).toBe(2);
    const node = await viaHub(hub as Hub, 'GET', `/api/v1/nodes/${NODE}`);
    expect(node.status).toBe(200);
    await hub?.cache.idle();
    const onlineNames = JSON.parse(all.body)
      .items.map((p: { metadata: { name: string } }) => p.metadata.name)
      .sort();
    await cutLink();
    try {
      const offAll = await viaHub(hub as Hub, 'GET', `/api/v1/pods?fieldSelector=spec.nodeName%3D${NODE}`);
      expect(offAll.status).toBe(200);
      expect(
        JSON.parse(offAll.body)
          .items.map((p: { metadata: { name: string } }) => p.metadata.name)
          .sort(),
      ).toEqual(onlineNames);
      const offWeb = JSON.parse(
        (
          await viaHub(
            hub as Hub,
            'GET',
            `/api/v1/pods?fieldSelector=spec.nodeName%3D${NODE}&labelSelector=app%3Dweb`,
          )
        ).body,
      );
      expect(offWeb.items.map((p: { metadata: { name: string } }) => p.metadata.name).sort()).toEqual([
        'web-1',
        'web-2',
      ]);
      const offNode = await viaHub(hub as Hub, 'GET', `/api/v1/nodes/${NODE}`);
      expect(JSON.parse(offNode.body).metadata.name).toBe(NODE);
      const refused = await viaHub(hub as Hub, 'POST', '/api/v1/namespaces/default/configmaps', {
        metadata: { name: 'x' },
      });
      expect(refused.status).toBe(503);
      // Pod status written offline is journaled and reaches the cloud after reconnect.
      const pod = JSON.parse((await viaHub(hub as Hub, 'GET', '/api/v1/namespaces/default/pods/db-1')).body);
      const put = await viaHub(hub as Hub, 'PUT', '/api/v1/namespaces/default/pods/db-1/status', {
        ...pod,
        status: { ...pod.status, phase: 'Running', message: 'set-offline' },
      });
      expect(put.status).toBe(200);
      expect(hub?.journal.size).toBe(1);
    } finally {
      await restoreLink();
    }
    for (let i = 0; i < 50 && (hub?.journal.size ?? 0) > 0; i++) await sleep(100);
    const after = await cluster?.kubectlJson<{ status: { message?: string } }>([
      'get',
      'pod',
      '-n',
      'default',
      'db-1',
    ]);
    expect(after?.status.message).toBe('set-offline');
  });

  it('without a secure proxy serving the master-service address, kubelet sees default/kubernetes unchanged', async () => {
    // As a node converted without the secure proxy: pointing pods at 169.254.2.1:10268 would leave
    // every in-cluster client with an address nothing answers.
    const viaKubelet = await viaHub(hub as Hub, 'GET', '/api/v1/namespaces/default/services/kubernetes');
    expect(viaKubelet.status).toBe(200);
    const directly = await cluster?.kubectlJson<{ spec: { clusterIP: string; ports: unknown[] } }>([
      'get',
      'service',
      '-n',
      'default',
      'kubernetes',
    ]);
    const spec = JSON.parse(viaKubelet.body).spec;
    expect(spec.clusterIP).toBe(directly?.spec.clusterIP);
    expect(spec.ports).toEqual(directly?.spec.ports);
  });

  it('truncated cache files are quarantined and counted; offline, the list serves the other objects', async () => {
    const list = `/api/v1/pods?fieldSelector=spec.nodeName%3D${NODE}`;
    expect((await viaHub(hub as Hub, 'GET', list)).status).toBe(200);
    await hub?.cache.idle();
    const kubeletCache = join(dir, 'hub', 'cache', 'kubelet');
    const files = (await fsp.readdir(kubeletCache, { recursive: true })).map((f) => join(kubeletCache, f));
    const web2 = files.find((f) => f.endsWith(join('default', 'web-2')));
    if (!web2) throw new Error(`no cache file for default/web-2 among ${files.join(', ')}`);
    // The LIST is also stored whole for offline (.lists): damaged too, the hub falls back to the objects.
    const listsDir = join(dir, 'hub', 'cache', '.lists', 'kubelet', 'pods.v1.core');
    const stored = (await fsp.readdir(listsDir, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name));
    expect(stored.length).toBeGreaterThanOrEqual(1);
    // As a power cut on a card that ignores fsync would leave them: the files cut short in place.
    for (const f of [web2, ...stored]) {
      const raw = await fsp.readFile(f);
      await fsp.writeFile(f, raw.subarray(0, Math.floor(raw.length / 2)));
    }
    const quarantined = async () => {
      const res = await fetch(`http://${hub?.adminAddress}/metrics`);
      return Number(/^edgefleet_hub_cache_quarantined_files_total (\d+)/m.exec(await res.text())?.[1] ?? -1);
    };
    const before = await quarantined();
    await cutLink();
    try {
      const off = await viaHub(hub as Hub, 'GET', list);
      expect(off.status, off.body).toBe(200);
      expect(
        JSON.parse(off.body)
          .items.map((p: { metadata: { name: string } }) => p.metadata.name)
          .sort(),
      ).toEqual(['db-1', 'web-1']);
      // The pod list's stored copy and web-2.
      expect(await quarantined()).toBe(before + 2);
      await expect(fsp.stat(web2)).rejects.toThrow();
      expect((await fsp.readdir(join(dir, 'hub', 'cache', '.quarantine'))).length).toBeGreaterThanOrEqual(1);
    } finally {
      await restoreLink();
    }
    // Online again, the next list writes the object back.
    expect((await viaHub(hub as Hub, 'GET', list)).status).toBe(200);
    await hub?.cache.idle();
    expect((await fsp.stat(web2)).size).toBeGreaterThan(0);
  });

  it('a watch through the hub ends cleanly when the link drops, and a held offline watch ends when it returns', async () => {
    const [host, port] = (hub as Hub).proxyAddress.split(':');
    const openWatch = () => {
      const state = { ended: false, errored: false, status: 0, lines: [] as string[] };
      const done = new Promise<void>((resolve) => {
        const req = http.get(
          {
            host,
            port,
            path: `/api/v1/pods?watch=true&fieldSelector=spec.nodeName%3D${NODE}`,
            headers: { 'user-agent': KUBELET },
          },
          (res) => {
            state.status = res.statusCode ?? 0;
            res.setEncoding('utf8');
            res.on('data', (c: string) => state.lines.push(...c.split('\n').filter(Boolean)));
            res.on('end', () => {
              state.ended = true;
              resolve();
            });
            res.on('error', () => {
              state.errored = true;
              resolve();
            });
          },
        );
        req.on('error', () => {
          state.errored = true;
          resolve();
        });
      });
      return { state, done };
    };
    const w = openWatch();
    await sleep(500);
    await cluster?.kubectl(['label', 'pod', '-n', 'default', 'web-1', 'touched=yes', '--overwrite']);
    for (let i = 0; i < 50 && w.state.lines.length === 0; i++) await sleep(100);
    expect(w.state.lines.length).toBeGreaterThan(0);
    await cutLink();
    await w.done;
    expect(w.state).toMatchObject({ ended: true, errored: false, status: 200 });
    const held = openWatch();
    await sleep(300);
    expect(held.state.ended).toBe(false);
    await restoreLink();
    await held.done;
    expect(held.state).toMatchObject({ ended: true, errored: false, status: 200 });
    // The cache saw the label change that came through the watch.
    await hub?.cache.idle();
    const cached = (await hub?.storage.get({
      component: 'kubelet',
      resource: { resource: 'pods', version: 'v1', group: '' },
      namespace: 'default',
      name: 'web-1',
    })) as {
      metadata: { labels: Record<string, string> };
    };
    expect(cached.metadata.labels.touched).toBe('yes');
  });

  it('a watch from an old resourceVersion answers the same through the hub as directly', async () => {
    // kube-apiserver 1.36 serves resourceVersion=1 from its watch cache rather than 410 Gone; the
    // 410 pass-through against the real API server (watch cache off, etcd compacted) is in hub-streams.test.ts.
    const path = `/api/v1/pods?watch=true&fieldSelector=spec.nodeName%3D${NODE}&resourceVersion=1&timeoutSeconds=1`;
    const d = await direct('GET', path);
    const h = await viaHub(hub as Hub, 'GET', path);
    expect(h.status).toBe(d.status);
    const events = (r: Reply) =>
      r.body
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const e = JSON.parse(l);
          return `${e.type} ${e.object?.metadata?.name ?? e.object?.code}`;
        })
        .sort();
    expect(events(h)).toEqual(events(d));
    expect(events(h).length).toBeGreaterThan(0);
  });

  it('admin endpoints report ready and metrics', async () => {
    const [host, port] = (hub as Hub).adminAddress.split(':');
    const get = (p: string) =>
      new Promise<Reply>((resolve) =>
        http.get({ host, port, path: p }, (res) => {
          let b = '';
          res.on('data', (c) => {
            b += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
        }),
      );
    expect((await get('/v1/readyz')).status).toBe(200);
    const m = (await get('/metrics')).body;
    expect(Number(/edgefleet_hub_offline_seconds_total ([0-9.]+)/.exec(m)?.[1])).toBeGreaterThan(0);
    expect(m).toMatch(/edgefleet_hub_cloud_healthy 1/);
  });
});
