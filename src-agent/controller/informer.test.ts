import { describe, expect, test } from 'vitest';
import type { KubeClient, KubeObject } from '../api/kube-client.ts';
import { Informer } from './informer.ts';

interface Obj extends KubeObject {
  metadata: { name: string; resourceVersion?: string; labels?: Record<string, string> };
}
type WatchEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: Obj };

const obj = (name: string, pool: string | undefined, rv: string): Obj => ({
  metadata: { name, resourceVersion: rv, labels: pool ? { pool } : {} },
});

/** A client whose list answers `items` and whose watch delivers what the test pushes. */
function fakeClient(items: Obj[]) {
  let push: ((ev: WatchEvent) => void) | undefined;
  let watching!: () => void;
  const opened = new Promise<void>((r) => {
    watching = r;
  });
  const client = {
    list: async () => ({ items, resourceVersion: '1' }),
    watch: (_r: unknown, o: { signal: AbortSignal }, onEvent: (ev: WatchEvent) => void) =>
      new Promise<void>((resolve) => {
        push = onEvent;
        watching();
        o.signal.addEventListener('abort', () => resolve(), { once: true });
      }),
  };
  return { client: client as unknown as KubeClient, opened, push: (ev: WatchEvent) => push?.(ev) };
}

const names = (objs: Obj[]) => objs.map((o) => o.metadata.name).sort();

describe('informer indexes', () => {
  test('an index added before or after the list stays current through add, update and delete', async () => {
    const fake = fakeClient([obj('a', 'p1', '1'), obj('b', 'p1', '1'), obj('c', 'p2', '1')]);
    const inf = new Informer<Obj>(fake.client, {
      group: '',
      version: 'v1',
      plural: 'things',
      kind: 'Thing',
      namespaced: false,
    });
    const byPool = (o: Obj) => [o.metadata.labels?.pool];
    inf.addIndexer('early', byPool);
    const stop = new AbortController();
    const running = inf.run(stop.signal);
    await inf.synced;
    inf.addIndexer('late', byPool);
    await fake.opened;
    for (const index of ['early', 'late']) {
      expect(names(inf.byIndex(index, 'p1'))).toEqual(['a', 'b']);
      expect(names(inf.byIndex(index, 'p2'))).toEqual(['c']);
    }

    fake.push({ type: 'MODIFIED', object: obj('b', 'p2', '2') }); // moves pool
    fake.push({ type: 'ADDED', object: obj('d', undefined, '3') }); // no value: in no bucket
    fake.push({ type: 'DELETED', object: obj('c', 'p2', '4') });
    fake.push({ type: 'ADDED', object: obj('e', 'p3', '5') });
    for (const index of ['early', 'late']) {
      expect(names(inf.byIndex(index, 'p1'))).toEqual(['a']);
      expect(names(inf.byIndex(index, 'p2'))).toEqual(['b']);
      expect(names(inf.byIndex(index, 'p3'))).toEqual(['e']);
      expect(inf.byIndex(index, 'nope')).toEqual([]);
    }
    expect(inf.byIndex('early', 'p2')[0]?.metadata.resourceVersion).toBe('2');
    expect(() => inf.byIndex('missing', 'p1')).toThrow(/no index missing/);
    stop.abort();
    await running;
  });
});
