import { describe, expect, it } from 'vitest';
import { REQUEST_SCHEMAS } from '../../src-main/ipc/contract.ts';
import type { ClusterSnapshot, EventWire, NodeWire, PodWire } from '../../src-main/ipc/types.ts';
import { FleetData } from '../store/fleet-data.ts';
import { feedKeys, linkOf, mergeNewestFirst, NO_FILTERS, nodeFeedEvents, poolOfEvent } from './events.ts';

const ev = (name: string, lastAt: string, o: Partial<EventWire> & Pick<EventWire, 'object'>): EventWire => ({
  name,
  namespace: 'default',
  uid: name,
  type: 'Warning',
  severity: 'warning',
  reason: 'Failed',
  message: 'Failed to pull image "nope:1"',
  count: 1,
  lastAt,
  ...o,
});

function fleet(): FleetData {
  const node: NodeWire = { name: 'edge-1', labels: { 'apps.openyurt.io/nodepool': 'north' }, conditions: [] };
  const pod: PodWire = { name: 'web-1', namespace: 'default', node: 'edge-1', ready: false, restarts: 0 };
  const empty = { state: { status: 'synced' as const }, items: [] };
  const snap: ClusterSnapshot = {
    clusterId: 'c/x',
    seq: 0,
    takenAt: '',
    connection: { state: 'connected', since: '' },
    flavor: { kind: 'none', nodePools: true, yurtAppSets: true, capabilities: [], explanation: '' },
    resources: {
      nodes: { state: { status: 'synced' }, items: [node] },
      nodepools: empty,
      yurtappsets: empty,
      pods: { state: { status: 'synced' }, items: [pod] },
      services: empty,
      endpointslices: empty,
      events: {
        state: { status: 'synced' },
        items: [
          ev('pull', '2026-01-01T00:00:02Z', {
            object: { kind: 'Pod', namespace: 'default', name: 'web-1' },
          }),
          ev('down', '2026-01-01T00:00:03Z', {
            namespace: undefined,
            type: 'Derived',
            reason: 'NodeNotReady',
            message: 'Node edge-1 is not ready',
            object: { kind: 'Node', name: 'edge-1' },
          }),
          ev('rollout', '2026-01-01T00:00:01Z', {
            type: 'Derived',
            reason: 'RolloutPaused',
            object: { kind: 'YurtAppSet', namespace: 'default', name: 'web' },
          }),
        ],
      },
    },
    heartbeats: {},
  };
  const f = new FleetData();
  f.load(snap);
  return f;
}

describe('the events feed in the renderer', () => {
  it('lists newest first and filters by origin, kind, pool (through the pod’s node) and text', () => {
    const f = fleet();
    expect(feedKeys(f, NO_FILTERS)).toEqual(['down', 'default/pull', 'default/rollout']);
    expect(feedKeys(f, { ...NO_FILTERS, origin: 'Warning' })).toEqual(['default/pull']);
    expect(feedKeys(f, { ...NO_FILTERS, origin: 'Derived', kind: 'YurtAppSet' })).toEqual([
      'default/rollout',
    ]);
    expect(feedKeys(f, { ...NO_FILTERS, pool: 'north' })).toEqual(['down', 'default/pull']);
    expect(feedKeys(f, { ...NO_FILTERS, text: 'NOPE:1' })).toEqual(['default/pull', 'default/rollout']);
  });

  it('links a pod’s event to its node page and an app’s to the Apps view', () => {
    const f = fleet();
    const pull = f.get('events', 'default/pull') as EventWire;
    expect(poolOfEvent(f, pull)).toBe('north');
    expect(linkOf(f, pull)).toEqual({ to: 'node', node: 'edge-1' });
    expect(linkOf(f, f.get('events', 'default/rollout') as EventWire)).toEqual({ to: 'apps' });
  });
});

describe('the node page’s recent events', () => {
  it('takes its pods’ warnings and its derived events from the feed, and each event once', () => {
    const f = fleet();
    const fromFeed = nodeFeedEvents(f, 'edge-1');
    expect(fromFeed.map((e) => e.name).sort()).toEqual(['down', 'pull']);
    expect(nodeFeedEvents(f, 'edge-2')).toEqual([]);
    const own = ev('normal', '2026-01-01T00:00:09Z', {
      type: 'Normal',
      object: { kind: 'Node', name: 'edge-1' },
    });
    const merged = mergeNewestFirst([[own, fromFeed[0] as EventWire], fromFeed], 50);
    expect(merged.map((e) => e.name)).toEqual(['normal', 'down', 'pull']);
    expect(mergeNewestFirst([[own], fromFeed], 1).map((e) => e.name)).toEqual(['normal']);
  });
});

describe('events IPC inputs', () => {
  it('validates watchObject and unwatchObject like every other channel', () => {
    const ok = REQUEST_SCHEMAS['events:watchObject']({
      clusterId: 'default/lab',
      kind: 'Node',
      name: 'edge-1',
    });
    expect(ok.ok).toBe(true);
    expect(
      REQUEST_SCHEMAS['events:watchObject']({ clusterId: 'default/lab', kind: 'Secret', name: 'x' }).ok,
    ).toBe(false);
    expect(
      REQUEST_SCHEMAS['events:watchObject']({ clusterId: 'default/lab', kind: 'Node', name: 'a,b=c' }).ok,
    ).toBe(false);
    expect(REQUEST_SCHEMAS['events:unwatchObject']({ watchId: 'ev-0123456789abcdef' }).ok).toBe(true);
    expect(REQUEST_SCHEMAS['events:unwatchObject']({ watchId: 'ev-xyz' }).ok).toBe(false);
  });
});
