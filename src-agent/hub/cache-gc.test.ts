import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get } from './test-support/hub-client.ts';
import { startTestHub } from './test-support/test-hub.ts';

let t: Awaited<ReturnType<typeof startTestHub>>;
const KUBELET = 'kubelet/v1.36';

beforeAll(async () => {
  t = await startTestHub('hub-gc-');
  for (let i = 0; i < 4; i++) t.api.addPod(`p-${i}`, { app: 'x' });
});
afterAll(async () => t?.stop());

const cachedPodNames = async () => {
  const pods = await t.hub.storage.list('kubelet', { resource: 'pods', version: 'v1', group: '' });
  return (pods as { metadata: { name: string } }[]).map((p) => p.metadata.name).sort();
};

describe('cache garbage collection', () => {
  it('removes pods deleted in the cloud, and refuses to empty kubelet pod cache wholesale', async () => {
    expect((await get(t.hub.proxyAddress, '/api/v1/pods', KUBELET)).status).toBe(200);
    // A GET-only cache entry (not refreshed by any list) is what GC exists for.
    expect((await get(t.hub.proxyAddress, '/api/v1/namespaces/default/pods/p-3', 'coredns/1')).status).toBe(
      200,
    );
    await t.hub.cache.idle();
    expect(await cachedPodNames()).toEqual(['p-0', 'p-1', 'p-2', 'p-3']);
    t.api.pods.delete('default/p-1');
    t.api.pods.delete('default/p-3');
    const r = await t.hub.collectGarbage();
    expect(r?.removed).toBe(3);
    expect(await cachedPodNames()).toEqual(['p-0', 'p-2']);
    expect(await t.hub.storage.list('coredns', { resource: 'pods', version: 'v1', group: '' })).toEqual([]);
    t.api.pods.clear();
    const r2 = await t.hub.collectGarbage();
    expect(r2?.refusedWholesale).toBe(1);
    expect(await cachedPodNames()).toEqual(['p-0', 'p-2']);
    expect(t.log.lines.some((l) => l.event === 'cache.gc_refused')).toBe(true);
  });
});
