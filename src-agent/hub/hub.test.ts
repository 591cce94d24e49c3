import * as http from 'node:http';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from './hub.ts';
import type { FakeApiServer } from './test-support/fake-apiserver.ts';
import { until } from './test-support/hub-client.ts';
import { startTestHub } from './test-support/test-hub.ts';

const KUBELET = 'kubelet/v1.36.3 (linux/amd64) kubernetes/abc';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function call(
  hub: Hub,
  method: string,
  path: string,
  opts: { ua?: string; body?: unknown; headers?: http.OutgoingHttpHeaders } = {},
): Promise<Reply> {
  const [host, port] = hub.proxyAddress.split(':');
  return new Promise((resolve, reject) => {
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const req = http.request(
      {
        host,
        port,
        method,
        path,
        headers: { 'user-agent': opts.ua ?? KUBELET, 'content-type': 'application/json', ...opts.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Opens a watch; resolves once headers arrive, collecting lines and noting how the stream ended. */
function watch(hub: Hub, path: string, ua = KUBELET) {
  const [host, port] = hub.proxyAddress.split(':');
  const lines: string[] = [];
  let buf = '';
  let endedCleanly = false;
  let errored = false;
  let res!: http.IncomingMessage;
  const done = new Promise<void>((resolve) => {
    const req = http.request({ host, port, path, headers: { 'user-agent': ua } }, (r) => {
      res = r;
      r.setEncoding('utf8');
      r.on('data', (c: string) => {
        buf += c;
        const parts = buf.split('\n');
        buf = parts.pop() ?? '';
        lines.push(...parts.filter(Boolean));
      });
      r.on('end', () => {
        endedCleanly = true;
        resolve();
      });
      r.on('error', () => {
        errored = true;
        resolve();
      });
      r.on('aborted', () => {
        errored = true;
      });
    });
    req.on('error', () => {
      errored = true;
      resolve();
    });
    req.end();
  });
  const started = new Promise<void>((resolve) => {
    const t = setInterval(() => {
      if (res) {
        clearInterval(t);
        resolve();
      }
    }, 5);
  });
  return { lines, done, started, status: () => res?.statusCode, state: () => ({ endedCleanly, errored }) };
}

let t: Awaited<ReturnType<typeof startTestHub>>;
let api: FakeApiServer;
let hub: Hub;

beforeAll(async () => {
  t = await startTestHub('hub-unit-', { cacheAgents: ['my-agent'], journalMaxEntries: 3 }, (fake) => {
    fake.addPod('web-1', { app: 'web' });
    fake.addPod('db-1', { app: 'db' });
  });
  ({ api, hub } = t);
});

afterAll(async () => {
  await t?.stop();
});

async function goOffline(): Promise<void> {
  await api.stop();
  await hub.probeNow();
  expect(hub.isCloudHealthy()).toBe(false);
}

async function goOnline(): Promise<void> {
  await api.start(api.port);
  await hub.probeNow();
  await hub.probeNow();
  expect(hub.isCloudHealthy()).toBe(true);
}

describe('hub against a fake API server', () => {
  it('renewed the node Lease with the node certificate and is healthy', () => {
    expect(hub.isCloudHealthy()).toBe(true);
    const puts = api.seen.filter(
      (s) => s.url.includes('/leases') && (s.method === 'PUT' || s.method === 'POST'),
    );
    expect(puts.length).toBeGreaterThan(0);
    expect(puts[0]?.clientCN).toBe('system:node:n1');
  });

  it('proxies with the node cert, asks kubelet responses as JSON, keeps a client bearer token without the cert', async () => {
    const r = await call(hub, 'GET', '/api/v1/namespaces/default/pods/web-1', {
      headers: { accept: 'application/vnd.kubernetes.protobuf,application/json' },
    });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).metadata.name).toBe('web-1');
    const seen = api.seen.at(-1);
    expect(seen?.clientCN).toBe('system:node:n1');
    expect(seen?.headers.accept).toBe('application/json');
    await call(hub, 'GET', '/api/v1/namespaces/default/pods/web-1', {
      ua: 'curl/8',
      headers: { authorization: 'Bearer pod-token' },
    });
    const own = api.seen.at(-1);
    expect(own?.headers.authorization).toBe('Bearer pod-token');
    expect(own?.clientCN).toBe('');
  });

  it('streams a chunked response before it completes', async () => {
    const [host, port] = hub.proxyAddress.split(':');
    const firstAt = await new Promise<{ first: number; end: number }>((resolve) => {
      const t0 = Date.now();
      let first = 0;
      http.get({ host, port, path: '/chunked' }, (res) => {
        res.on('data', () => {
          first ||= Date.now() - t0;
        });
        res.on('end', () => resolve({ first, end: Date.now() - t0 }));
      });
    });
    expect(firstAt.end - firstAt.first).toBeGreaterThanOrEqual(150);
  });

  it('tunnels upgrade requests (exec/port-forward) both ways', async () => {
    const [host, port] = hub.proxyAddress.split(':');
    const sock = net.connect(Number(port), host);
    sock.write(
      'POST /api/v1/namespaces/default/pods/web-1/exec?command=sh HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n',
    );
    let got = '';
    sock.on('data', (c: Buffer) => {
      got += c.toString();
      if (got.includes('\r\n\r\n') && !got.includes('echo:')) sock.write('ping');
    });
    await until(() => got.includes('echo:ping'));
    expect(got.startsWith('HTTP/1.1 101')).toBe(true);
    sock.destroy();
  });

  it('caches LISTs with different selectors without one clobbering the other, and serves them offline', async () => {
    const web = await call(hub, 'GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb');
    const db = await call(hub, 'GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Ddb');
    expect(JSON.parse(web.body).items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual([
      'web-1',
    ]);
    expect(JSON.parse(db.body).items.length).toBe(1);
    await hub.cache.idle();
    await goOffline();
    try {
      const raw = await call(hub, 'GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb');
      expect(raw.status, raw.body).toBe(200);
      const offWeb = JSON.parse(raw.body);
      const offDb = JSON.parse(
        (await call(hub, 'GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Ddb')).body,
      );
      const offAll = JSON.parse((await call(hub, 'GET', '/api/v1/namespaces/default/pods')).body);
      expect(offWeb.kind).toBe('PodList');
      expect(offWeb.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(['web-1']);
      expect(offDb.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(['db-1']);
      expect(offAll.items.length).toBe(2);
      expect(offAll.items[0].kind).toBe('Pod');
      const get = await call(hub, 'GET', '/api/v1/namespaces/default/pods/db-1');
      expect(get.status).toBe(200);
      // kubelet's pod list for another node would be empty: 404, never an empty list.
      const none = await call(hub, 'GET', '/api/v1/pods?fieldSelector=spec.nodeName%3Dother');
      expect(none.status).toBe(404);
      // A client the hub does not cache for gets a clear 503.
      const curl = await call(hub, 'GET', '/api/v1/namespaces/default/pods', { ua: 'curl/8' });
      expect(curl.status).toBe(503);
      expect(JSON.parse(curl.body).message).toMatch(/unreachable/);
      // The Edge-Cache header opts a client in (its own component cache, empty: 503 explains).
      const optIn = await call(hub, 'GET', '/api/v1/namespaces/default/pods', {
        ua: 'curl/8',
        headers: { 'edge-cache': 'true' },
      });
      expect(optIn.status).toBe(503);
      expect(JSON.parse(optIn.body).message).toMatch(/never cached/);
    } finally {
      await goOnline();
    }
  });

  it('keeps the cache current from a watch, streams events, ends the watch cleanly when the API server goes', async () => {
    await call(hub, 'GET', '/api/v1/pods');
    await hub.cache.idle();
    const w = watch(hub, '/api/v1/pods?watch=true&resourceVersion=1');
    await w.started;
    await until(() => api.seen.some((s) => s.url.includes('watch=true')));
    await new Promise((r) => setTimeout(r, 50));
    api.addPod('web-2', { app: 'web' });
    await until(() => w.lines.length === 1);
    expect(JSON.parse(w.lines[0] ?? '{}').object.metadata.name).toBe('web-2');
    api.modifyPod('web-1', { status: { phase: 'Succeeded' } });
    await until(() => w.lines.length === 2);
    await api.stop();
    await w.done;
    expect(w.state()).toEqual({ endedCleanly: true, errored: false });
    await hub.cache.idle();
    await hub.probeNow();
    try {
      const pods = JSON.parse((await call(hub, 'GET', '/api/v1/pods')).body);
      const names = pods.items.map((p: { metadata: { name: string } }) => p.metadata.name).sort();
      expect(names).toEqual(['db-1', 'web-1', 'web-2']);
      expect(
        pods.items.find((p: { metadata: { name: string } }) => p.metadata.name === 'web-1').status.phase,
      ).toBe('Succeeded');
    } finally {
      await goOnline();
    }
  });

  it('passes a 410 Gone watch error through and ends the stream', async () => {
    const w = watch(hub, '/api/v1/pods?watch=true&resourceVersion=1');
    await w.started;
    await new Promise((r) => setTimeout(r, 50));
    api.goneWatches();
    await w.done;
    expect(w.state().endedCleanly).toBe(true);
    expect(JSON.parse(w.lines[0] ?? '{}').object.code).toBe(410);
  });

  it('offline: holds watches open and ends them cleanly when the cloud returns', async () => {
    await goOffline();
    const w = watch(hub, '/api/v1/pods?watch=true&resourceVersion=5');
    await w.started;
    expect(w.status()).toBe(200);
    await new Promise((r) => setTimeout(r, 100));
    expect(w.state().endedCleanly).toBe(false);
    await goOnline();
    await w.done;
    expect(w.state()).toEqual({ endedCleanly: true, errored: false });
  });

  it("offline: a streaming list (kubelet's WatchList) gets the cached pods as ADDED events and the initial-events-end bookmark", async () => {
    const forNode = (node: string) =>
      `/api/v1/pods?fieldSelector=spec.nodeName%3D${node}&watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=5`;
    expect((await call(hub, 'GET', '/api/v1/pods?fieldSelector=spec.nodeName%3Dn1')).status).toBe(200);
    await hub.cache.idle();
    await goOffline();
    try {
      const w = watch(hub, forNode('n1'));
      await until(() => w.lines.some((l) => l.includes('BOOKMARK')));
      const events = w.lines.map((l) => JSON.parse(l));
      const added = events.filter((e) => e.type === 'ADDED');
      expect(added.map((e) => e.object.metadata.name).sort()).toEqual(
        [...api.pods.values()]
          .filter((p) => (p.spec as { nodeName?: string }).nodeName === 'n1')
          .map((p) => p.metadata.name)
          .sort(),
      );
      expect(added[0]?.object).toMatchObject({ apiVersion: 'v1', kind: 'Pod' });
      const last = events.at(-1);
      expect(last.type).toBe('BOOKMARK');
      expect(last.object.metadata.annotations).toEqual({ 'k8s.io/initial-events-end': 'true' });
      // Held after the bookmark, like any offline watch.
      expect(w.state().endedCleanly).toBe(false);
      // No cached pods for another node: no bookmark, so kubelet's informer stays unsynced rather than empty.
      const other = watch(hub, forNode('other'));
      await other.started;
      await new Promise((r) => setTimeout(r, 200));
      expect(other.lines).toEqual([]);
    } finally {
      await goOnline();
    }
  });

  it('offline: journals node/pod status and events, refuses other creates, replays in order with conflict handling', async () => {
    await goOffline();
    const before = api.seen.length;
    try {
      const create = await call(hub, 'POST', '/api/v1/namespaces/default/configmaps', {
        body: { metadata: { name: 'x' } },
      });
      expect(create.status).toBe(503);
      expect(JSON.parse(create.body).message).toMatch(/refused while the node is offline/);
      const ps = await call(hub, 'PUT', '/api/v1/namespaces/default/pods/db-1/status', {
        body: {
          kind: 'Pod',
          apiVersion: 'v1',
          metadata: { name: 'db-1', namespace: 'default', resourceVersion: '1' },
          status: { phase: 'Failed' },
        },
      });
      expect(ps.status).toBe(200);
      const ev = await call(hub, 'POST', '/api/v1/namespaces/default/events', {
        body: { metadata: { name: 'e1' }, reason: 'Offline' },
      });
      expect(ev.status).toBe(201);
      expect(hub.journal.size).toBe(2);
    } finally {
      api.conflictsToSend = 1;
      await goOnline();
    }
    await until(() => hub.journal.size === 0);
    // The hub's own writes on reconnect (Lease, node report on the Node) are not journal replay.
    const replayed = api.seen
      .slice(before)
      .filter(
        (s) => s.method !== 'GET' && !s.url.includes('/leases') && !/^\/api\/v1\/nodes\/[^/]+$/.test(s.url),
      );
    expect(replayed.map((s) => `${s.method} ${s.url}`)).toEqual([
      'PUT /api/v1/namespaces/default/pods/db-1/status',
      'PUT /api/v1/namespaces/default/pods/db-1/status',
      'POST /api/v1/namespaces/default/events',
    ]);
    expect((api.pods.get('default/db-1')?.status as { phase?: string } | undefined)?.phase).toBe('Failed');
  });

  it('journal is bounded: oldest events dropped first and counted', async () => {
    await goOffline();
    try {
      await call(hub, 'PUT', '/api/v1/namespaces/default/pods/db-1/status', {
        body: { metadata: { name: 'db-1' }, status: {} },
      });
      for (let i = 0; i < 4; i++)
        await call(hub, 'POST', '/api/v1/namespaces/default/events', {
          body: { metadata: { name: `e${i}` } },
        });
      expect(hub.journal.size).toBe(3);
      expect(hub.journal.dropped).toBe(2);
      expect(hub.journal.list().map((e) => e.kind)).toEqual(['pod-status', 'event', 'event']);
    } finally {
      await goOnline();
    }
    await until(() => hub.journal.size === 0);
  });

  it("answers kubelet's own lease GET/PUT locally from the hub's view of the Lease", async () => {
    const before = api.seen.filter(
      (s) => s.headers['user-agent'] === KUBELET && s.url.includes('/leases'),
    ).length;
    const path = '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1';
    const got = await call(hub, 'GET', path);
    expect(got.status).toBe(200);
    expect(JSON.parse(got.body).spec.holderIdentity).toBe('n1');
    const put = await call(hub, 'PUT', path, { body: JSON.parse(got.body) });
    expect(put.status).toBe(200);
    const after = api.seen.filter(
      (s) => s.headers['user-agent'] === KUBELET && s.url.includes('/leases'),
    ).length;
    expect(after).toBe(before);
  });

  it('admin: healthz, readyz and Prometheus metrics', async () => {
    const [host, port] = hub.adminAddress.split(':');
    const get = (p: string) =>
      new Promise<Reply>((resolve) =>
        http.get({ host, port, path: p }, (res) => {
          let b = '';
          res.on('data', (c) => {
            b += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }));
        }),
      );
    expect((await get('/v1/healthz')).status).toBe(200);
    const ready = await get('/v1/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body).checks.certificates.message).toMatch(/system:node:n1/);
    const m = (await get('/metrics')).body;
    expect(m).toMatch(
      /edgefleet_hub_requests_total\{component="kubelet",verb="list",resource="pods",code="200"\} \d+/,
    );
    expect(m).toMatch(/edgefleet_hub_cloud_healthy 1/);
    expect(m).toMatch(/edgefleet_hub_offline_seconds_total [0-9.]+/);
    expect(Number(/edgefleet_hub_cache_hits_total (\d+)/.exec(m)?.[1])).toBeGreaterThan(0);
    expect(Number(/edgefleet_hub_uplink_received_bytes_total (\d+)/.exec(m)?.[1])).toBeGreaterThan(0);
    expect(Number(/edgefleet_hub_cache_bytes (\d+)/.exec(m)?.[1])).toBeGreaterThan(0);
    expect(m).toMatch(
      /edgefleet_hub_request_duration_seconds_bucket\{verb="get",served_by="cache",le="\+Inf"\}/,
    );
  });
});
