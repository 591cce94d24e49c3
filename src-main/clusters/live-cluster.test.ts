import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { testKubeConfig } from '../../test/unit/kubeconfig.ts';
import type { EventChannel, EventMap } from '../ipc/contract.ts';
import { reduceLease } from './detect.ts';
import { LiveCluster } from './live-cluster.ts';
import { reducePod } from './reduce.ts';
import { RESOURCES } from './resources.ts';

const kc = testKubeConfig('https://127.0.0.1:1');

function pod(name: string, rv: number, phase = 'Running') {
  return reducePod({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      resourceVersion: String(rv),
      managedFields: [{ manager: 'kubectl' }],
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}', keep: 'me' },
    },
    spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'app:1', env: [{ name: 'BIG', value: 'x' }] }] },
    status: { phase },
  });
}

function nodeLease(node: string, renewTime: string) {
  return reduceLease({
    metadata: { name: node, namespace: 'kube-node-lease', resourceVersion: renewTime },
    spec: { holderIdentity: node, renewTime },
  });
}

let live: LiveCluster | undefined;
afterEach(async () => {
  await live?.stop();
});

function setup() {
  const events: { channel: EventChannel; payload: unknown }[] = [];
  live = new LiveCluster('default/x', kc, (channel, payload) => events.push({ channel, payload }), {
    batchMs: 20,
  });
  return {
    live,
    diffs: () =>
      events.filter((e) => e.channel === 'cluster:diff').map((e) => e.payload as EventMap['cluster:diff']),
  };
}

describe('LiveCluster batching', () => {
  it('turns many object events into one compact diff per window, coalesced per object', async () => {
    const { live, diffs } = setup();
    live.ingest.replace('pods', [pod('a', 1), pod('b', 1)]);
    live.ingest.state('pods', { status: 'synced' });
    const snap = live.snapshot();
    expect(snap.resources.pods.items.map((p) => p.name).sort()).toEqual(['a', 'b']);

    for (let rv = 2; rv < 100; rv++) live.ingest.upsert('pods', pod('a', rv, rv % 2 ? 'Running' : 'Pending'));
    live.ingest.upsert('pods', pod('c', 100));
    live.ingest.remove('pods', pod('c', 101)); // added and deleted inside one window: nothing to send
    live.ingest.remove('pods', pod('b', 102));
    await new Promise((r) => setTimeout(r, 60));

    const sent = diffs();
    expect(sent).toHaveLength(1);
    const d = sent[0];
    expect(d?.seq).toBe(snap.seq + 1);
    expect(d?.resources.pods?.upserts).toHaveLength(1);
    const a = d?.resources.pods?.upserts[0];
    expect(a?.rv).toBe('99');
    // The wire shape: no managedFields, annotations or container specs; what views show, kept.
    expect(a).toEqual({
      name: 'a',
      namespace: 'default',
      rv: '99',
      node: 'n1',
      phase: 'Running',
      ready: false,
      restarts: 0,
      image: 'app:1',
      containers: [{ name: 'c', restarts: 0 }],
    });
    expect(d?.resources.pods?.removes).toEqual(['default/b']);
    expect(d?.resources.nodes).toBeUndefined();
  });

  it('a re-list after reconnect is sent as a diff of what changed, not as a new snapshot', async () => {
    const { live, diffs } = setup();
    live.ingest.replace('pods', [pod('a', 1), pod('b', 1)]);
    live.flush();
    live.snapshot();
    live.ingest.replace('pods', [pod('a', 1), pod('b', 5), pod('d', 6)]);
    const d = live.flush();
    expect(d?.resources.pods?.upserts.map((p) => p.name).sort()).toEqual(['b', 'd']);
    expect(d?.resources.pods?.removes).toEqual([]);
    live.ingest.replace('pods', [pod('d', 6)]);
    expect(live.flush()?.resources.pods?.removes.sort()).toEqual(['default/a', 'default/b']);
    expect(diffs().map((x) => x.seq)).toEqual([1, 2, 3]);
  });

  it('reports reconnecting then unreachable with the last contact time, and connected again', async () => {
    const events: EventMap['cluster:diff'][] = [];
    live = new LiveCluster(
      'default/x',
      kc,
      (c, p) => c === 'cluster:diff' && events.push(p as EventMap['cluster:diff']),
      { batchMs: 5, unreachableAfterMs: 40 },
    );
    live.ingest.contact();
    live.flush();
    expect(live.connectionInfo().state).toBe('connected');
    const contactAt = live.connectionInfo().lastContactAt;
    live.ingest.trouble('nodes', new Error('connect ECONNREFUSED 127.0.0.1:6443'));
    expect(live.connectionInfo().state).toBe('reconnecting');
    await new Promise((r) => setTimeout(r, 80));
    const c = live.connectionInfo();
    expect(c.state).toBe('unreachable');
    expect(c.lastContactAt).toBe(contactAt);
    expect(c.lastError?.message).toContain('ECONNREFUSED');
    live.ingest.contact();
    expect(live.connectionInfo().state).toBe('connected');
    // The diff carrying "connected" goes out with the next batch window (timers run late on a loaded machine).
    for (let i = 0; i < 200 && events.at(-1)?.connection?.state !== 'connected'; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(events.map((e) => e.connection?.state).filter(Boolean)).toEqual([
      'connected',
      'reconnecting',
      'unreachable',
      'connected',
    ]);
  });

  it('detects the flavor from leases and CRD availability', async () => {
    const { live } = setup();
    live.ingest.state('nodepools', { status: 'absent' });
    live.ingest.state('leases', { status: 'synced' });
    live.flush();
    expect(live.snapshot().flavor.kind).toBe('none');
    live.ingest.state('nodepools', { status: 'synced' });
    live.ingest.upsert(
      'leases',
      reduceLease({
        metadata: { name: 'edgefleet-controller', namespace: 'kube-system', resourceVersion: '3' },
        spec: { holderIdentity: 'ctl-1' },
      }),
    );
    const d = live.flush();
    expect(d?.flavor).toMatchObject({ kind: 'edgefleet', nodePools: true, controller: { holder: 'ctl-1' } });
  });
});

describe('LiveCluster node heartbeats', () => {
  it('folds node Leases into heartbeats: never sent as objects, each node at most once per interval', () => {
    const events: { channel: EventChannel; payload: unknown }[] = [];
    live = new LiveCluster('default/x', kc, (channel, payload) => events.push({ channel, payload }), {
      batchMs: 10_000,
      heartbeatEveryMs: 10_000,
    });
    live.ingest.replace('nodeleases', [nodeLease('n1', '2026-01-01T00:00:00.000Z')]);
    const snap = live.snapshot();
    expect(snap.heartbeats).toEqual({ n1: '2026-01-01T00:00:00.000Z' });
    expect(Object.keys(snap.resources)).not.toContain('leases');

    // Renewals every 2 s for 8 s: seen (counted) but not worth a message.
    for (const s of [2, 4, 6, 8])
      live.ingest.upsert('nodeleases', nodeLease('n1', `2026-01-01T00:00:0${s}.000Z`));
    expect(live.counters.leaseEvents).toBe(5);
    expect(live.flush()).toBeNull();
    // 10 s after the last one sent: one heartbeat, and still no Lease object on the wire.
    live.ingest.upsert('nodeleases', nodeLease('n1', '2026-01-01T00:00:10.000Z'));
    const d = live.flush();
    expect(d?.heartbeats).toEqual({ n1: '2026-01-01T00:00:10.000Z' });
    expect(d?.resources).toEqual({});
    expect(JSON.stringify(events)).not.toContain('kube-node-lease');
  });
});

describe('LiveCluster listing order', () => {
  let server: http.Server | undefined;
  afterEach(async () => {
    // Watches hold connections open: stop them before the server can close.
    await live?.stop();
    live = undefined;
    server?.closeAllConnections();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
  });

  it('lists nodes and node pools alone first; the other kinds once those are synced', async () => {
    const lists: string[] = [];
    let releaseNodes: (() => void) | undefined;
    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      res.setHeader('Content-Type', 'application/json');
      if (url.searchParams.get('watch')) return; // watches stay open, silent
      lists.push(url.pathname);
      const answer = () => res.end(JSON.stringify({ metadata: { resourceVersion: '1' }, items: [] }));
      if (url.pathname === '/api/v1/nodes') releaseNodes = answer;
      else answer();
    });
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
    const api = testKubeConfig(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const diffs: EventMap['cluster:diff'][] = [];
    live = new LiveCluster('default/x', api, (c, p) => c === 'cluster:diff' && diffs.push(p as never), {
      batchMs: 5,
      firstListMs: 600_000,
    });
    live.start();
    const synced = (kind: 'nodes' | 'nodepools') =>
      diffs.some((d) => d.resources[kind]?.state?.status === 'synced');
    for (let i = 0; i < 500 && !(releaseNodes && synced('nodepools')); i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(synced('nodepools')).toBe(true);
    // The node list is still open: nothing else was asked for yet.
    expect(live.startedKinds().sort()).toEqual(['nodepools', 'nodes']);
    expect(lists.every((p) => p === '/api/v1/nodes' || p.endsWith('/nodepools'))).toBe(true);
    releaseNodes?.();
    for (let i = 0; i < 500 && !lists.includes('/api/v1/pods'); i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(synced('nodes')).toBe(true);
    expect(lists).toContain('/api/v1/pods');
    // Then every watch runs.
    expect(live.startedKinds().sort()).toEqual(RESOURCES.map((d) => d.kind).sort());
  });
});
