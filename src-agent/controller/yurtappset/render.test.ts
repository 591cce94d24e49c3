import { describe, expect, test } from 'vitest';
import type { NodePool } from '../../api/nodepool.ts';
import type { YurtAppSet } from '../../api/yurtappset.ts';
import { applyJsonPatch, renderWorkload, TweakError, workloadName } from './render.ts';

// Rendered workloads are schemaless JSON; tests walk them by path.
// biome-ignore lint/suspicious/noExplicitAny: test-only access into arbitrary JSON
type Dict = Record<string, any>;

const pool = (name: string, labels: Record<string, string> = {}): NodePool => ({
  metadata: { name, labels },
});
const yas = (over: Partial<YurtAppSet['spec']> = {}): YurtAppSet => ({
  metadata: { name: 'web', namespace: 'default', uid: 'u1' },
  spec: {
    pools: ['a'],
    workload: {
      workloadTemplate: {
        deploymentTemplate: {
          metadata: { labels: { app: 'web' } },
          spec: {
            replicas: 2,
            selector: { matchLabels: { app: 'web' } },
            template: {
              metadata: { labels: { app: 'web' } },
              spec: { containers: [{ name: 'web', image: 'web:1' }] },
            },
          },
        },
      },
    },
    ...over,
  },
});

describe('renderWorkload', () => {
  test('labels, owner, selector and node affinity into the pool', () => {
    const r = renderWorkload(yas(), pool('a'));
    const o = r.object as unknown as Dict;
    expect(o.metadata.name).toBe('web-a');
    expect(o.metadata.labels).toMatchObject({
      app: 'web',
      'apps.openyurt.io/ref-yurtappset': 'web',
      'apps.openyurt.io/pool-name': 'a',
    });
    expect(o.metadata.ownerReferences[0]).toMatchObject({ kind: 'YurtAppSet', uid: 'u1', controller: true });
    expect(o.spec.selector.matchLabels).toEqual({ app: 'web', 'apps.openyurt.io/pool-name': 'a' });
    expect(
      o.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution
        .nodeSelectorTerms,
    ).toEqual([{ matchExpressions: [{ key: 'apps.openyurt.io/nodepool', operator: 'In', values: ['a'] }] }]);
  });

  test('tweaks: replicas, images and patches only for matching pools; revision changes with them', () => {
    const y = yas({
      pools: ['a', 'b'],
      workload: {
        ...yas().spec.workload,
        workloadTweaks: [
          {
            pools: ['b'],
            tweaks: {
              replicas: 5,
              containerImages: [{ name: 'web', targetImage: 'web:b' }],
              patches: [{ path: '/metadata/labels/extra', operation: 'add', value: 'yes' }],
            },
          },
        ],
      },
    });
    const a = renderWorkload(y, pool('a'));
    const b = renderWorkload(y, pool('b'));
    const bo = b.object as unknown as Dict;
    expect(bo.spec.replicas).toBe(5);
    expect(bo.spec.template.spec.containers[0].image).toBe('web:b');
    expect(bo.metadata.labels.extra).toBe('yes');
    expect((a.object as unknown as Dict).spec.template.spec.containers[0].image).toBe('web:1');
    expect(renderWorkload(y, pool('a')).revision).toBe(a.revision);
    expect(b.revision).not.toBe(a.revision);
  });

  test('long names are shortened deterministically', () => {
    const n = workloadName('a'.repeat(40), 'pool-with-a-long-name');
    expect(n.length).toBeLessThanOrEqual(52);
    expect(workloadName('a'.repeat(40), 'pool-with-a-long-name')).toBe(n);
  });
});

describe('applyJsonPatch', () => {
  test('add, replace, remove, array append and escapes', () => {
    const doc = { a: { 'x/y': 1, list: [1, 2] } };
    applyJsonPatch(doc, { path: '/a/x~1y', operation: 'replace', value: 2 });
    applyJsonPatch(doc, { path: '/a/list/-', operation: 'add', value: 3 });
    applyJsonPatch(doc, { path: '/a/list/0', operation: 'remove' });
    applyJsonPatch(doc, { path: '/b/c', operation: 'add', value: true });
    expect(doc).toEqual({ a: { 'x/y': 2, list: [2, 3] }, b: { c: true } });
    expect(() => applyJsonPatch(doc, { path: '/nope/x', operation: 'replace', value: 1 })).toThrow(
      TweakError,
    );
    expect(() => applyJsonPatch(doc, { path: '/a/missing', operation: 'remove' })).toThrow(TweakError);
  });
});
