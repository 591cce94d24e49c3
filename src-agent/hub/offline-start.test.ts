import { rm } from 'node:fs/promises';
import * as net from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Hub } from './hub.ts';
import { MemoryLogger } from './log.ts';
import { send } from './test-support/hub-client.ts';
import { startTestHub } from './test-support/test-hub.ts';

const KUBELET = 'kubelet/v1.36.3 (linux/amd64) kubernetes/abc';
const PROTOBUF = 'application/vnd.kubernetes.protobuf';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

/** Accepts connections and never answers: a cut link whose packets vanish, so probes time out. */
async function blackhole(port: number): Promise<() => Promise<void>> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
}

/**
 * A hub that cached kubelet's node and pod online, then restarted with the cloud unreachable;
 * `forgetLease`: without the Lease the hub kept on disk (as a hub upgraded from before it kept one).
 */
async function restartedOffline(opts: { forgetLease?: boolean } = {}) {
  const t = await startTestHub('hub-offline-start-');
  cleanups.push(t.stop);
  t.api.addPod('web-1', { app: 'web' });
  for (const p of ['/api/v1/nodes/n1', '/api/v1/namespaces/default/pods/web-1'])
    expect((await send(t.hub.proxyAddress, 'GET', p, { ua: KUBELET })).status).toBe(200);
  await t.hub.close();
  await t.api.stop();
  cleanups.push(await blackhole(t.api.port));
  if (opts.forgetLease)
    await rm(join(t.config.cacheDir, '_hub', 'leases.v1.coordination.k8s.io'), { recursive: true });
  const t0 = Date.now();
  const starting = Hub.start(t.config, { log: new MemoryLogger() });
  cleanups.push(async () => (await starting).close());
  return { ...t, t0, starting };
}

describe('hub start with the cloud unreachable', () => {
  it('serves from the cache at once, while the first cloud probe is still waiting', async () => {
    const t = await restartedOffline();
    let started = false;
    void t.starting.then(() => {
      started = true;
    });
    let r = await send(t.config.proxyListen, 'GET', '/api/v1/namespaces/default/pods/web-1', {
      ua: KUBELET,
    }).catch(() => undefined);
    while (!r && Date.now() - t.t0 < 4_000) {
      await new Promise((res) => setTimeout(res, 50));
      r = await send(t.config.proxyListen, 'GET', '/api/v1/namespaces/default/pods/web-1', {
        ua: KUBELET,
      }).catch(() => undefined);
    }
    expect(r?.status).toBe(200);
    expect(JSON.parse(r?.body.toString() ?? '{}').metadata.name).toBe('web-1');
    // Served well before the probe's 5 s timeout (the hub used to wait for three probes: ~15 s).
    expect(Date.now() - t.t0).toBeLessThan(3_000);
    expect(started).toBe(false);
    const hub = await t.starting;
    expect(hub.isCloudHealthy()).toBe(false);
  }, 20_000);

  it('answers kubelet node registration with 409 AlreadyExists when the node is cached; journals its status', async () => {
    const t = await restartedOffline();
    const hub = await t.starting;
    const register = (body: Buffer, ct: string) =>
      send(hub.proxyAddress, 'POST', '/api/v1/nodes', { ua: KUBELET, body, headers: { 'content-type': ct } });
    const pb = Buffer.concat([
      Buffer.from('k8s\0'),
      Buffer.from([0x0a, 0x02]),
      Buffer.from('n1'),
      Buffer.from([0xff]),
    ]);
    const r = await register(pb, PROTOBUF);
    expect(r.status).toBe(409);
    const st = JSON.parse(r.body.toString());
    expect(st).toMatchObject({
      kind: 'Status',
      reason: 'AlreadyExists',
      code: 409,
      details: { name: 'n1', kind: 'nodes' },
    });
    // Another node, or a node this hub never cached, is not claimed to exist.
    const other = await register(
      Buffer.from(JSON.stringify({ metadata: { name: 'n2' } })),
      'application/json',
    );
    expect(other.status).toBe(503);
    // kubelet's next steps: read its node (cache), patch its status (journal).
    expect((await send(hub.proxyAddress, 'GET', '/api/v1/nodes/n1', { ua: KUBELET })).status).toBe(200);
    const patch = await send(hub.proxyAddress, 'PATCH', '/api/v1/nodes/n1/status', {
      ua: KUBELET,
      body: Buffer.from(JSON.stringify({ status: { conditions: [] } })),
      headers: { 'content-type': 'application/strategic-merge-patch+json' },
    });
    expect(patch.status).toBe(200);
    expect(hub.journal.list().map((e) => `${e.kind} ${e.method} ${e.path}`)).toEqual([
      'node-status PATCH /api/v1/nodes/n1/status',
    ]);
  }, 20_000);

  it("answers kubelet's protobuf Lease renewal with 200 before the hub knows the Lease (no 500)", async () => {
    const t = await restartedOffline({ forgetLease: true });
    const hub = await t.starting;
    // kubelet's PUT of its Lease: the protobuf envelope, not JSON.
    const pb = Buffer.concat([
      Buffer.from('k8s\0'),
      Buffer.from([0x0a, 0x11, 0x0a, 0x0f]),
      Buffer.alloc(15, 1),
    ]);
    const r = await send(
      hub.proxyAddress,
      'PUT',
      '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1',
      { ua: KUBELET, body: pb, headers: { 'content-type': PROTOBUF } },
    );
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe(PROTOBUF);
    expect(Buffer.compare(r.body, pb)).toBe(0);
  }, 20_000);

  it("answers kubelet's Lease GET after an offline restart from the Lease the hub kept on disk (not 404, which sends kubelet to create it)", async () => {
    const t = await restartedOffline();
    const hub = await t.starting;
    const r = await send(
      hub.proxyAddress,
      'GET',
      '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1',
      { ua: KUBELET },
    );
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString())).toMatchObject({
      metadata: { name: 'n1', namespace: 'kube-node-lease' },
    });
  }, 20_000);
});
