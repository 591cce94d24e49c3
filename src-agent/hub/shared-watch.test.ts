import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from './hub.ts';
import type { FakeApiServer } from './test-support/fake-apiserver.ts';
import { get, openWatch, until } from './test-support/hub-client.ts';
import { startTestHub } from './test-support/test-hub.ts';

let t: Awaited<ReturnType<typeof startTestHub>>;
let api: FakeApiServer;
let hub: Hub;

beforeAll(async () => {
  t = await startTestHub('hub-shared-', {}, (fake) => {
    for (let i = 0; i < 5; i++) fake.addPod(`p-${i}`, { app: 'x' });
  });
  ({ api, hub } = t);
});

afterAll(async () => {
  await t?.stop();
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
