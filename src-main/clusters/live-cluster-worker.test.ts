import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { testKubeConfig } from '../../test/unit/kubeconfig.ts';
import type { EventChannel } from '../ipc/contract.ts';
import type { ClusterDiff } from '../ipc/types.ts';
import { LiveClusterWorker } from './live-cluster-worker.ts';
import { WorkerSpare } from './live-worker-spare.ts';

let server: http.Server | undefined;
let live: LiveClusterWorker | undefined;
afterEach(async () => {
  await live?.stop();
  await new Promise((r) => server?.close(r));
});

/** Serves one node in lists; a watch on nodes sends one change, other watches stay open. */
async function fakeApi(): Promise<KubeConfig> {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const node = (rv: string, pool: string) => ({
      metadata: { name: 'n1', resourceVersion: rv, labels: { 'apps.openyurt.io/nodepool': pool } },
      status: {
        images: [{ names: ['huge'], sizeBytes: 1 }],
        conditions: [{ type: 'Ready', status: 'True' }],
      },
    });
    res.setHeader('Content-Type', 'application/json');
    if (url.searchParams.get('watch')) {
      if (url.pathname === '/api/v1/nodes')
        res.write(`${JSON.stringify({ type: 'MODIFIED', object: node('2', 'b') })}\n`);
      return; // keep the watch open
    }
    const items = url.pathname === '/api/v1/nodes' ? [node('1', 'a')] : [];
    res.end(JSON.stringify({ metadata: { resourceVersion: '1' }, items }));
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  const kc = testKubeConfig(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, {
    token: 's3cret-token',
  });
  return kc;
}

describe('LiveClusterWorker', () => {
  it('lists and watches in a worker thread and relays reduced snapshots and diffs', async () => {
    const kc = await fakeApi();
    const diffs: ClusterDiff[] = [];
    live = new LiveClusterWorker(
      'default/x',
      kc,
      (channel: EventChannel, payload) => {
        if (channel === 'cluster:diff') diffs.push(payload as ClusterDiff);
      },
      { batchMs: 20 },
    );
    // The watch's change shows in the snapshot at once and in a diff after the batch window.
    const diffSent = () => diffs.some((d) => d.resources.nodes?.upserts.some((n) => n.rv === '2'));
    let pool: string | undefined;
    for (let i = 0; i < 400 && (pool !== 'b' || !diffSent()); i++) {
      const snap = await live.snapshot();
      pool = snap.resources.nodes.items[0]?.labels?.['apps.openyurt.io/nodepool'];
      if (pool !== 'b' || !diffSent()) await new Promise((r) => setTimeout(r, 25));
    }
    expect(pool).toBe('b');
    const snap = await live.snapshot();
    expect(snap.resources.nodes.items[0]).not.toHaveProperty('status');
    expect(JSON.stringify(snap)).not.toContain('huge');
    expect(diffSent()).toBe(true);
    expect(live.connectionInfo().state).toBe('connected');
  });

  it('a spare worker started before any cluster serves the one it is given later', async () => {
    const spare = new WorkerSpare();
    spare.warm();
    // Its modules load before the cluster is known: the spare is the thread that gets used.
    const worker = spare.take();
    await new Promise((r) => worker.once('online', r));
    const kc = await fakeApi();
    live = new LiveClusterWorker('default/x', kc, () => {}, { batchMs: 20 }, worker);
    let names: string[] = [];
    for (let i = 0; i < 400 && names.length === 0; i++) {
      names = (await live.snapshot()).resources.nodes.items.map((n) => n.name);
      if (names.length === 0) await new Promise((r) => setTimeout(r, 25));
    }
    expect(names).toEqual(['n1']);
    // Taking again without a warm spare starts a fresh worker (none is left idle behind).
    const fresh = spare.take();
    expect(fresh).not.toBe(worker);
    await fresh.terminate();
    await spare.close();
  });
});
