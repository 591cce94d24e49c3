import { describe, expect, it } from 'vitest';
import type { ClusterSnapshot, NodeWire, PodWire } from '../../src-main/ipc/types.ts';
import { FleetData } from './fleet-data.ts';

const ready = (status: 'True' | 'False' | 'Unknown', since = '2026-01-01T00:00:00Z') => ({
  type: 'Ready',
  status,
  since,
});

function node(name: string, pool: string, opts: Partial<NodeWire> = {}): NodeWire {
  return {
    name,
    rv: '1',
    labels: { 'apps.openyurt.io/nodepool': pool },
    conditions: [ready('True')],
    ...opts,
  };
}

function pod(i: number, nodeName: string, rv = '1'): PodWire {
  return {
    name: `p-${i}`,
    namespace: 'default',
    rv,
    node: nodeName,
    ready: true,
    restarts: 0,
    labels: { 'apps.openyurt.io/ref-yurtappset': 'web', 'apps.openyurt.io/pool-name': 'p0' },
  };
}

function snapshot(nodes: NodeWire[], pods: PodWire[]): ClusterSnapshot {
  const empty = { state: { status: 'synced' as const }, items: [] };
  return {
    clusterId: 'c/x',
    seq: 0,
    takenAt: '',
    connection: { state: 'connected', since: '' },
    flavor: { kind: 'none', nodePools: true, yurtAppSets: true, capabilities: [], explanation: '' },
    resources: {
      nodes: { state: { status: 'synced' }, items: nodes },
      nodepools: empty,
      yurtappsets: empty,
      pods: { state: { status: 'synced' }, items: pods },
      services: empty,
      endpointslices: empty,
      events: empty,
    },
    heartbeats: {},
  };
}

function fleetOf(podCount: number): FleetData {
  const nodes = Array.from({ length: 100 }, (_, i) => node(`n-${i}`, `p${i % 10}`));
  const pods = Array.from({ length: podCount }, (_, i) => pod(i, `n-${i % 100}`));
  const f = new FleetData();
  f.load(snapshot(nodes, pods));
  return f;
}

const onePodDiff = (i: number, rv: string) => ({
  clusterId: 'c/x',
  seq: 1,
  at: '',
  resources: { pods: { upserts: [{ ...pod(i, 'n-7', rv), ready: false }], removes: [] } },
});

describe('FleetData', () => {
  it('a diff of one pod costs the same work at 50 pods as at 50,000, and copies nothing else', () => {
    const small = fleetOf(50);
    const big = fleetOf(50_000);
    const untouched = big.get('pods', 'default/p-49999');
    small.apply(onePodDiff(3, '2'));
    big.apply(onePodDiff(3, '2'));
    expect(big.lastWork).toBe(small.lastWork);
    expect(big.lastWork).toBeLessThan(10);
    // The other objects are the very same ones (no whole-kind copy), the index moved the pod.
    expect(big.get('pods', 'default/p-49999')).toBe(untouched);
    expect(big.podsByNode.get('n-7')?.has('default/p-3')).toBe(true);
    expect(big.podsByNode.get('n-3')?.has('default/p-3')).toBe(false);
    expect(big.get('pods', 'default/p-3')?.ready).toBe(false);
  });

  it('notifies only the topics a change belongs to', () => {
    const f = fleetOf(200);
    const seen: string[] = [];
    for (const t of [
      'kind:nodes',
      'kind:pods',
      'pool:p1',
      'pool:p2',
      'obj:nodes:n-1',
      'obj:nodes:n-2',
      'podsOf:n-1',
      'hb:n-1',
      'health',
    ])
      f.subscribe(t, () => seen.push(t));
    // A heartbeat alone: only its own topic.
    f.apply({
      clusterId: 'c/x',
      seq: 1,
      at: '',
      resources: {},
      heartbeats: { 'n-1': '2026-01-01T00:00:10Z' },
    });
    expect(seen).toEqual(['hb:n-1']);
    seen.length = 0;
    // n-1 goes NotReady: its object, its pool, the health topic; not the node list, not other pools.
    f.apply({
      clusterId: 'c/x',
      seq: 2,
      at: '',
      resources: {
        nodes: { upserts: [node('n-1', 'p1', { rv: '2', conditions: [ready('Unknown')] })], removes: [] },
      },
    });
    expect(seen.sort()).toEqual(['health', 'obj:nodes:n-1', 'pool:p1']);
    expect(f.poolSummary('p1')).toMatchObject({ members: 10, ready: 9, notReady: 1 });
    // A pool without members reads as one stable object (useSyncExternalStore needs identity).
    expect(f.poolSummary('no-such-pool')).toBe(f.poolSummary('no-such-pool'));
    expect(f.poolSummary('no-such-pool').members).toBe(0);
    seen.length = 0;
    // The same resourceVersion again: nothing at all.
    f.apply({
      clusterId: 'c/x',
      seq: 3,
      at: '',
      resources: {
        nodes: { upserts: [node('n-1', 'p1', { rv: '2', conditions: [ready('Unknown')] })], removes: [] },
      },
    });
    expect(seen).toEqual([]);
  });

  it('keeps pool counts and members right as nodes move, change state and go', () => {
    const f = fleetOf(0);
    const autonomous = node('n-11', 'p1', {
      rv: '5',
      annotations: { 'node.openyurt.io/autonomy-duration': '0' },
      conditions: [
        ready('Unknown', '2026-01-01T00:10:00Z'),
        {
          type: 'Autonomy',
          status: 'True',
          since: '2026-01-01T00:00:00Z',
          heartbeat: '2026-01-01T00:09:30Z',
        },
      ],
    });
    f.apply({
      clusterId: 'c/x',
      seq: 1,
      at: '',
      resources: { nodes: { upserts: [autonomous, node('n-21', 'p9', { rv: '5' })], removes: ['n-31'] } },
    });
    expect(f.nodeHealth('n-11')).toBe('autonomous');
    // p1 had 10 (n-1, n-11 … n-91): n-21 moved to p9, n-31 was deleted, n-11 is cut off but autonomous.
    expect(f.poolSummary('p1')).toMatchObject({ members: 8, ready: 7, autonomous: 1, notReady: 0 });
    expect(f.poolSummary('p9').members).toBe(11);
    expect(f.members('p1')).toHaveLength(8);
    expect(f.members('p9')).toContain('n-21');
    expect(f.members('p1')).not.toContain('n-31');
  });

  it('every read a view subscribes to is stable between changes (same object for the same data)', () => {
    const f = fleetOf(10);
    // A pool with no members, a pool that does not exist, and every cached list.
    expect(f.poolSummary('empty')).toBe(f.poolSummary('empty'));
    expect(f.members('empty')).toBe(f.members('empty'));
    expect(f.members('p1')).toBe(f.members('p1'));
    expect(f.keys('nodes')).toBe(f.keys('nodes'));
    expect(f.poolNames()).toBe(f.poolNames());
    expect(f.poolSummary('p1')).toBe(f.poolSummary('p1'));
  });
});
