import { readFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HubConfig } from '../api/hub-config.ts';
import { Hub } from './hub.ts';
import { MemoryLogger } from './log.ts';
import { FakeApiServer, makeTestPki } from './test-support/fake-apiserver.ts';
import { freePort, get, openWatch, until } from './test-support/hub-client.ts';

let dir: string;
let api: FakeApiServer;
let hub: Hub;

beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'hub-shared-'));
  const pki = makeTestPki(dir);
  api = new FakeApiServer(pki, (p) => readFileSync(p));
  await api.start();
  for (let i = 0; i < 5; i++) api.addPod(`p-${i}`, { app: 'x' });
  const config: HubConfig = {
    nodeName: 'n1',
    servers: [api.url],
    strategy: 'round-robin',
    tls: { certFile: pki.clientCert, keyFile: pki.clientKey, caFile: pki.ca },
    proxyListen: `127.0.0.1:${await freePort()}`,
    adminListen: `127.0.0.1:${await freePort()}`,
    cacheDir: join(dir, 'cache'),
    journalDir: join(dir, 'journal'),
    cacheKeyFile: join(dir, 'pki', 'cache.key'),
    cacheAgents: [],
    heartbeatIntervalSeconds: 3600,
    kubeletSilenceSeconds: 3600,
    leaseDurationSeconds: 40,
    journalMaxEntries: 100,
    centralConfig: false,
  };
  hub = await Hub.start(config, { log: new MemoryLogger() });
});

afterAll(async () => {
  await hub?.close();
  await api?.stop().catch(() => undefined);
  await fsp.rm(dir, { recursive: true, force: true });
});

const metric = async (name: string) => {
  const r = await get(hub.adminAddress, '/metrics', 'test');
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(r.body);
  return Number(m?.[1]);
};

describe('shared upstream watch', () => {
  it('three identical LIST+WATCH clients share one upstream watch; uplink bytes do not triple', async () => {
    const uas = ['kubelet/v1.36', 'kube-proxy/v1.36', 'coredns/1.12'];
    const lists = await Promise.all(uas.map((ua) => get(hub.proxyAddress, '/api/v1/pods', ua)));
    const rv = JSON.parse(lists[0]?.body ?? '{}').metadata.resourceVersion as string;
    const before = api.seen.filter((s) => s.url.includes('watch=true')).length;
    const inBefore = await metric('edgefleet_hub_uplink_received_bytes_total');
    const watches = uas.map((ua) =>
      openWatch(hub.proxyAddress, `/api/v1/pods?watch=true&resourceVersion=${rv}&timeoutSeconds=60`, ua),
    );
    await until(
      () => hub.metrics !== undefined && api.seen.filter((s) => s.url.includes('watch=true')).length > before,
    );
    // Let all three attach before events flow.
    await until(
      async () => (await metric('edgefleet_hub_shared_watch_joins_total')) === 2,
      5000,
      'two joins',
    );
    for (let i = 0; i < 20; i++) api.modifyPod(`p-${i % 5}`, { status: { phase: 'Running', n: i } });
    await until(() => watches.every((w) => w.lines.length === 20), 5000, 'all clients get 20 events');
    const upstreamWatches = api.seen.filter((s) => s.url.includes('watch=true')).length - before;
    expect(upstreamWatches).toBe(1);
    expect(await metric('edgefleet_hub_upstream_watches_total')).toBe(1);
    const uplink = (await metric('edgefleet_hub_uplink_received_bytes_total')) - inBefore;
    const delivered = watches.reduce((n, w) => n + w.bytes(), 0);
    // Without sharing the uplink would carry what all three clients received.
    expect(uplink).toBeGreaterThan(0);
    expect(uplink).toBeLessThan(delivered / 2);
    // Every client saw the same events in the same order, and each component's cache got them.
    expect(watches[1]?.lines).toEqual(watches[0]?.lines);
    const last = JSON.parse(watches[2]?.lines.at(-1) ?? '{}');
    expect(last.object.status.n).toBe(19);
    for (const w of watches) w.close();
    await hub.cache.idle();
    const cached = await get(hub.proxyAddress, '/api/v1/pods', 'coredns/1.12');
    expect(cached.status).toBe(200);
  });

  it('a watch from an older resourceVersion than the shared one gets its own upstream watch', async () => {
    const a = openWatch(hub.proxyAddress, '/api/v1/pods?watch=true&resourceVersion=500', 'kubelet/v1');
    await until(async () => (await metric('edgefleet_hub_upstream_watches_total')) === 2);
    const b = openWatch(hub.proxyAddress, '/api/v1/pods?watch=true&resourceVersion=400', 'kubelet/v1');
    await until(async () => (await metric('edgefleet_hub_upstream_watches_total')) === 3);
    const c = openWatch(hub.proxyAddress, '/api/v1/pods?watch=true&resourceVersion=600', 'kubelet/v1');
    await until(async () => (await metric('edgefleet_hub_shared_watch_joins_total')) === 3);
    for (const w of [a, b, c]) w.close();
  });
});
