import { afterEach, describe, expect, it } from 'vitest';
import { send } from './test-support/hub-client.ts';
import { startTestHub } from './test-support/test-hub.ts';

const KUBELET = 'kubelet/v1.36.3 (linux/amd64) kubernetes/abc';
const POD = '/api/v1/namespaces/default/pods/web-1';
const PODS = '/api/v1/namespaces/default/pods';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function onlineHub() {
  const t = await startTestHub('hub-link-cut-', { cutDetectionMs: 400 });
  cleanups.push(t.stop);
  t.api.addPod('web-1', { app: 'web' });
  for (const p of [POD, PODS])
    expect((await send(t.hub.proxyAddress, 'GET', p, { ua: KUBELET })).status).toBe(200);
  expect(t.hub.isCloudHealthy()).toBe(true);
  return t;
}

const timed = async (address: string, path: string) => {
  const t0 = performance.now();
  const r = await send(address, 'GET', path, { ua: KUBELET });
  return { status: r.status, ms: performance.now() - t0, body: r.body.toString() };
};

describe('a link cut that drops packets (no error, only silence)', () => {
  it('the first request after the cut and those in flight with it are answered from the cache within the detection bound', async () => {
    const t = await onlineHub();
    t.api.silent = true;
    const [a, b] = await Promise.all([timed(t.hub.proxyAddress, POD), timed(t.hub.proxyAddress, PODS)]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(JSON.parse(a.body).metadata.name).toBe('web-1');
    expect(JSON.parse(b.body).items.length).toBe(1);
    // 400 ms detection (100 ms wait, 300 ms /livez check) plus the cache read, with slack for a loaded machine.
    expect(Math.max(a.ms, b.ms)).toBeLessThan(1_000);
    expect(t.hub.isCloudHealthy()).toBe(false);
    expect(t.log.lines.some((l) => l.event === 'cloud.health')).toBe(true);
    // Once offline, answers come from the cache at once.
    expect((await timed(t.hub.proxyAddress, POD)).ms).toBeLessThan(100);
  }, 20_000);

  it('after a cut, the hub probes its way back within seconds of the link returning (not at the next heartbeat)', async () => {
    const t = await onlineHub();
    t.api.silent = true;
    expect((await timed(t.hub.proxyAddress, POD)).status).toBe(200);
    expect(t.hub.isCloudHealthy()).toBe(false);
    t.api.silent = false;
    const back = Date.now();
    // The heartbeat interval here is an hour: only the fast recovery probes can bring it back.
    while (!t.hub.isCloudHealthy() && Date.now() - back < 10_000)
      await new Promise((r) => setTimeout(r, 100));
    expect(t.hub.isCloudHealthy()).toBe(true);
    expect(Date.now() - back).toBeLessThan(6_000);
  }, 20_000);

  it('a slow but reachable API server is not taken for a cut', async () => {
    const t = await onlineHub();
    t.api.delayMs = 1_200;
    const r = await timed(t.hub.proxyAddress, PODS);
    expect(r.status).toBe(200);
    expect(r.ms).toBeGreaterThan(1_100);
    expect(t.hub.isCloudHealthy()).toBe(true);
  }, 20_000);
});
