import { afterEach, describe, expect, it } from 'vitest';
import { testKubeConfig } from '../../test/unit/kubeconfig.ts';
import type { EventChannel, EventMap } from '../ipc/contract.ts';
import { LiveCluster } from './live-cluster.ts';
import { reduceEvent, reduceNode } from './reduce.ts';

const kc = testKubeConfig('https://127.0.0.1:1');

const warning = (name: string, count: number, at: string) =>
  reduceEvent({
    metadata: { name, namespace: 'default', uid: `uid-${name}`, resourceVersion: `${name}-${count}` },
    involvedObject: { kind: 'Pod', namespace: 'default', name: 'web-1' },
    type: 'Warning',
    reason: 'Failed',
    message: 'Failed to pull image',
    count,
    firstTimestamp: at,
    lastTimestamp: at,
  });

const node = (name: string, ready: 'True' | 'False', rv: number) =>
  reduceNode({
    metadata: { name, resourceVersion: String(rv), labels: { 'apps.openyurt.io/nodepool': 'north' } },
    status: {
      conditions: [{ type: 'Ready', status: ready, lastTransitionTime: `2026-01-01T00:0${rv}:00Z` }],
    },
  });

let live: LiveCluster | undefined;
afterEach(async () => {
  await live?.stop();
});

function setup(eventRingSize = 1_000) {
  const sent: { channel: EventChannel; payload: unknown }[] = [];
  live = new LiveCluster('default/x', kc, (channel, payload) => sent.push({ channel, payload }), {
    batchMs: 10_000,
    eventRingSize,
  });
  const diffs = () =>
    sent.filter((e) => e.channel === 'cluster:diff').map((e) => e.payload as EventMap['cluster:diff']);
  return { live, diffs };
}

describe('the events feed in LiveCluster', () => {
  it('an event updated many times in one window is one upsert with the merged count', () => {
    const { live } = setup();
    live.ingest.replace('events', [warning('a', 1, '2026-01-01T00:00:00Z')]);
    live.snapshot();
    for (let c = 2; c <= 50; c++) live.ingest.upsert('events', warning('a', c, '2026-01-01T00:00:00Z'));
    const d = live.flush();
    expect(d?.resources.events?.upserts).toHaveLength(1);
    expect(d?.resources.events?.upserts[0]?.count).toBe(50);
  });

  it('past the bound, the oldest leave the renderer as removes', () => {
    const { live } = setup(2);
    live.ingest.replace('events', [
      warning('a', 1, '2026-01-01T00:00:01Z'),
      warning('b', 1, '2026-01-01T00:00:02Z'),
    ]);
    expect(
      live
        .snapshot()
        .resources.events.items.map((e) => e.name)
        .sort(),
    ).toEqual(['a', 'b']);
    live.flush();
    live.ingest.upsert('events', warning('c', 1, '2026-01-01T00:00:03Z'));
    const d = live.flush();
    expect(d?.resources.events?.removes).toEqual(['default/a']);
    expect(d?.resources.events?.upserts.map((e) => e.name)).toEqual(['c']);
    expect(live.events.evicted).toBe(1);
  });

  it('a node going not ready puts a derived node event and a pool event in the same diff', () => {
    const { live } = setup();
    live.ingest.replace('nodes', [node('n1', 'True', 1), node('n2', 'True', 1)]);
    live.snapshot();
    live.ingest.upsert('nodes', node('n2', 'False', 2));
    const reasons = live.flush()?.resources.events?.upserts.map((e) => `${e.object.name}:${e.reason}`);
    expect(reasons).toEqual(['n2:NodeNotReady', 'north:PoolDegraded']);
    // A re-list that sees the same state adds nothing new: same uids.
    live.ingest.replace('nodes', [node('n1', 'True', 1), node('n2', 'False', 3)]);
    expect(live.events.length).toBe(2);
  });

  it('forbidden events are a state the renderer shows, not an empty feed', () => {
    const { live } = setup();
    live.ingest.state('events', { status: 'forbidden', message: 'events is forbidden' });
    expect(live.flush()?.resources.events?.state).toEqual({
      status: 'forbidden',
      message: 'events is forbidden',
    });
  });
});
