import { describe, expect, it } from 'vitest';
import { scanItemMeta, withTypeMeta } from './item-meta.ts';

const b = (s: string) => Buffer.from(s);
const metaOf = (x: Buffer) => {
  const m = scanItemMeta(x);
  if (!m) throw new Error('no metadata');
  return m;
};

describe('scanItemMeta', () => {
  it('reads name, namespace and resourceVersion as JSON.parse would, escapes and nesting included', () => {
    const items = [
      {
        metadata: { name: 'cm-1', namespace: 'ns', resourceVersion: '42', labels: { a: 'b' } },
        data: { k: 'v' },
      },
      {
        metadata: {
          managedFields: [{ fieldsV1: { 'f:metadata': { 'f:name': {}, 'f:resourceVersion': {} } } }],
          name: 'n\u00e9\\"x',
          resourceVersion: '7',
          annotations: { note: '"resourceVersion":"99"' },
        },
        spec: { nested: { metadata: { name: 'not-this' } } },
      },
      {
        kind: 'Widget',
        apiVersion: 'x.io/v1',
        metadata: { namespace: 'a', name: 'w', resourceVersion: '1' },
      },
    ];
    for (const item of items) {
      const m = scanItemMeta(b(JSON.stringify(item, null, 1)));
      expect(m).toEqual({
        name: item.metadata.name,
        namespace: (item.metadata as { namespace?: string }).namespace ?? '',
        resourceVersion: item.metadata.resourceVersion,
        hasKind: 'kind' in item,
        hasApiVersion: 'apiVersion' in item,
      });
    }
  });

  it('answers undefined for bytes that are not an object with metadata', () => {
    for (const s of [
      '',
      '[]',
      '"x"',
      '{"metadata":"x"}',
      '{"spec":{}}',
      '{"metadata":{"name":"a"',
      '{"a" 1}',
    ])
      expect(scanItemMeta(b(s))).toBeUndefined();
  });
});

describe('withTypeMeta', () => {
  it('puts the list kind and apiVersion in front of an item without them and keeps an item’s own', () => {
    const plain = b('{"metadata":{"name":"a"},"data":{}}');
    const out = JSON.parse(withTypeMeta(plain, metaOf(plain), 'v1', 'ConfigMap').toString());
    expect(out).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' }, data: {} });
    const typed = b('{"apiVersion":"x.io/v1","kind":"W","metadata":{"name":"a"}}');
    expect(withTypeMeta(typed, metaOf(typed), 'v1', 'ConfigMap')).toBe(typed);
  });
});
