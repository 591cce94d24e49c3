import { describe, expect, it } from 'vitest';
import type { EventWire } from '../ipc/types.ts';
import { EventRing } from './event-ring.ts';
import { reduceEvent } from './reduce.ts';

function ev(name: string, uid: string, count: number, first: string, last: string): EventWire {
  return reduceEvent({
    metadata: { name, namespace: 'default', uid, resourceVersion: String(count) },
    involvedObject: { kind: 'Pod', namespace: 'default', name: 'web-1' },
    type: 'Warning',
    reason: 'BackOff',
    message: 'Back-off pulling image',
    count,
    firstTimestamp: first,
    lastTimestamp: last,
    source: { component: 'kubelet', host: 'edge-1' },
  });
}

describe('reduceEvent', () => {
  it('keeps what the feed shows and cuts a long message, saying so', () => {
    const e = reduceEvent({
      metadata: { name: 'x.1', namespace: 'ns', uid: 'u1', resourceVersion: '7' },
      involvedObject: { kind: 'Node', name: 'edge-1' },
      type: 'Warning',
      reason: 'Rebooted',
      message: 'm'.repeat(2_000),
      series: { count: 9, lastObservedTime: '2026-01-01T00:00:09Z' },
      eventTime: '2026-01-01T00:00:00Z',
      reportingComponent: 'kubelet',
      reportingInstance: 'edge-1',
    });
    expect(e).toMatchObject({
      type: 'Warning',
      severity: 'warning',
      count: 9,
      firstAt: '2026-01-01T00:00:00Z',
      lastAt: '2026-01-01T00:00:09Z',
      source: { component: 'kubelet', host: 'edge-1' },
      object: { kind: 'Node', name: 'edge-1' },
    });
    expect(e.message.length).toBe(500);
    expect(e.message.endsWith('…')).toBe(true);
  });
});

describe('EventRing', () => {
  it('merges sightings of one uid: highest count, earliest first, latest last', () => {
    const r = new EventRing(10);
    r.upsert(ev('a', 'u', 3, '2026-01-01T00:00:00Z', '2026-01-01T00:00:30Z'));
    const { put } = r.upsert(ev('a', 'u', 2, '2026-01-01T00:00:10Z', '2026-01-01T00:01:00Z'));
    expect(r.length).toBe(1);
    expect(put[0]).toMatchObject({
      count: 3,
      firstAt: '2026-01-01T00:00:00Z',
      lastAt: '2026-01-01T00:01:00Z',
    });
  });

  it('keeps the most recently changed `size` entries and reports the ones it dropped', () => {
    const r = new EventRing(3);
    const dropped: string[] = [];
    for (let i = 0; i < 5; i++) {
      const t = `2026-01-01T00:00:0${i}Z`;
      dropped.push(...r.upsert(ev(`e${i}`, `u${i}`, 1, t, t)).dropped.map((e) => e.name));
    }
    // e2 changes again: it becomes the most recent, and nothing more is dropped.
    dropped.push(...r.upsert(ev('e2', 'u2', 2, 'x', 'y')).dropped.map((e) => e.name));
    expect(dropped).toEqual(['e0', 'e1']);
    expect([...r.values()].map((e) => e.name)).toEqual(['e3', 'e4', 'e2']);
    expect(r.evicted).toBe(2);
  });

  it('after a re-list holds exactly the listed events plus kept ones; over the bound, the newest', () => {
    const r = new EventRing(3);
    r.upsert(ev('old', 'u-old', 1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'));
    r.upsert({ ...ev('d', 'derived.node', 1, 'x', 'x'), type: 'Derived' });
    const at = (i: number) => `2026-01-01T00:0${i}:00Z`;
    const two = [2, 1].map((i) => ev(`n${i}`, `u${i}`, 1, at(i), at(i)));
    const first = r.replace(two, (e) => e.type === 'Derived');
    expect(first.dropped.map((e) => e.name)).toEqual(['old']);
    expect([...r.values()].map((e) => e.name)).toEqual(['d', 'n1', 'n2']);

    const five = [5, 3, 1, 4, 2].map((i) => ev(`n${i}`, `u${i}`, 1, at(i), at(i)));
    const second = r.replace(five, () => false);
    expect([...r.values()].map((e) => e.name)).toEqual(['n3', 'n4', 'n5']);
    expect(second.put.map((e) => e.name)).toEqual(['n3', 'n4', 'n5']);
    expect(second.dropped.map((e) => e.name).sort()).toEqual(['d', 'n1', 'n2']);
  });

  it('a delete removes the entry; deleting an unknown one changes nothing', () => {
    const r = new EventRing(3);
    const a = ev('a', 'u', 1, 't', 't');
    r.upsert(a);
    expect(r.remove(a).dropped).toHaveLength(1);
    expect(r.remove(a).dropped).toHaveLength(0);
    expect(r.length).toBe(0);
  });
});
