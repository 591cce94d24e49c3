import { describe, expect, it } from 'vitest';
import { ListSplitError, ListSplitter } from './list-splitter.ts';

/** Feeds `doc` in pieces of `step` bytes and returns the envelope text and the parsed items. */
function split(doc: string, step: number): { envelope: string; items: unknown[]; complete: boolean } {
  let envelope = '';
  const items: unknown[] = [];
  const s = new ListSplitter({
    envelope: (b) => {
      envelope += b.toString('utf8');
    },
    item: (b) => items.push(JSON.parse(b.toString('utf8'))),
  });
  const buf = Buffer.from(doc);
  for (let i = 0; i < buf.length; i += step) s.push(buf.subarray(i, i + step));
  return { envelope, items, complete: s.complete };
}

const tricky = {
  kind: 'ConfigMapList',
  apiVersion: 'v1',
  metadata: { resourceVersion: '42', note: 'has "items": [1,2] in a string ]}' },
  items: [
    { metadata: { name: 'a', namespace: 'n' }, data: { k: 'br]ack{ets} "quoted" \\ back\\"slash ü €' } },
    { metadata: { name: 'b' }, items: [{ nested: true }], data: { '\\"': '[' } },
    { metadata: { name: 'c' }, data: {} },
  ],
};

describe('ListSplitter', () => {
  it('yields each item and the envelope for every chunk size', () => {
    for (const text of [JSON.stringify(tricky), JSON.stringify(tricky, null, 2)]) {
      for (const step of [1, 2, 3, 7, 64, 100_000]) {
        const r = split(text, step);
        expect(r.items).toEqual(tricky.items);
        expect(JSON.parse(r.envelope)).toEqual({ ...tricky, items: [] });
        expect(r.complete).toBe(true);
      }
    }
  });

  it('handles items that are not the last member, empty lists and scalar elements', () => {
    const doc = '{"items":[1, "x,]", null ,{"a":[]}],"metadata":{"continue":"t"},"kind":"L"}';
    for (const step of [1, 5, 1000]) {
      const r = split(doc, step);
      expect(r.items).toEqual([1, 'x,]', null, { a: [] }]);
      expect(JSON.parse(r.envelope)).toEqual({ items: [], metadata: { continue: 't' }, kind: 'L' });
    }
    const empty = split('{"kind":"PodList","items":[]}', 3);
    expect(empty.items).toEqual([]);
    expect(JSON.parse(empty.envelope)).toEqual({ kind: 'PodList', items: [] });
  });

  it('ignores an "items" key that is not at the top level and one that is not an array', () => {
    const r = split('{"metadata":{"items":[{"x":1}]},"spec":{"items":"no"},"items":[{"y":2}]}', 4);
    expect(r.items).toEqual([{ y: 2 }]);
    expect(JSON.parse(r.envelope)).toEqual({
      metadata: { items: [{ x: 1 }] },
      spec: { items: 'no' },
      items: [],
    });
    const notArray = split('{"items":null,"kind":"X"}', 2);
    expect(notArray.items).toEqual([]);
    expect(JSON.parse(notArray.envelope)).toEqual({ items: null, kind: 'X' });
  });

  it('reports a truncated document as incomplete and refuses what is not one object', () => {
    expect(split('{"kind":"L","items":[{"a":1},{"b"', 3).complete).toBe(false);
    expect(() => split('[1,2]', 10)).toThrow(ListSplitError);
    expect(() => split('{}{}', 10)).toThrow(ListSplitError);
  });

  it('refuses one item over the size bound instead of growing without limit', () => {
    const s = new ListSplitter({ envelope: () => undefined, item: () => undefined }, 100);
    expect(() => s.push(Buffer.from(`{"items":[{"a":"${'x'.repeat(200)}"}]}`))).toThrow(/over 100 bytes/);
  });
});
