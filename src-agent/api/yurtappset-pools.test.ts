import { describe, expect, test } from 'vitest';
import { matchesSelector } from './label-selector.ts';
import type { NodePool } from './nodepool.ts';
import type { YurtAppSet } from './yurtappset.ts';
import { yurtAppSetPools } from './yurtappset-pools.ts';

const pool = (name: string, labels: Record<string, string> = {}, deleting = false): NodePool => ({
  metadata: { name, labels, ...(deleting ? { deletionTimestamp: '2025-01-01T00:00:00Z' } : {}) },
});
const spec = (s: Partial<YurtAppSet['spec']>) =>
  ({ spec: { workload: { workloadTemplate: {} }, ...s } }) as Pick<YurtAppSet, 'spec'>;
const names = (ps: NodePool[]) => ps.map((p) => p.metadata.name);

describe('yurtAppSetPools', () => {
  const all = [
    pool('b', { env: 'prod' }),
    pool('z'),
    pool('c', { env: 'dev' }),
    pool('d', { env: 'prod' }, true),
    pool('A', { env: 'prod' }),
  ];
  test('named or selected, sorted by code unit, deleting pools left out', () => {
    const y = spec({
      pools: ['z', 'd'],
      nodepoolSelector: { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] },
    });
    expect(names(yurtAppSetPools(y, all))).toEqual(['A', 'b', 'z']);
  });
  test('a named pool without a NodePool is not a target', () => {
    expect(names(yurtAppSetPools(spec({ pools: ['missing', 'c'] }), all))).toEqual(['c']);
  });
  test('no selector selects none, an empty one all existing pools', () => {
    expect(names(yurtAppSetPools(spec({}), all))).toEqual([]);
    expect(names(yurtAppSetPools(spec({ nodepoolSelector: {} }), all))).toEqual(['A', 'b', 'c', 'z']);
  });
});

describe('matchesSelector', () => {
  const labels = { tier: 'edge', region: 'us' };
  test('matchLabels and every operator', () => {
    expect(matchesSelector(labels, { matchLabels: { tier: 'edge' } })).toBe(true);
    expect(matchesSelector(labels, { matchLabels: { tier: 'cloud' } })).toBe(false);
    const expr = (operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist', key: string, values?: string[]) =>
      matchesSelector(labels, { matchExpressions: [{ key, operator, ...(values ? { values } : {}) }] });
    expect(expr('In', 'region', ['us', 'eu'])).toBe(true);
    expect(expr('In', 'gpu', ['yes'])).toBe(false);
    expect(expr('NotIn', 'region', ['eu'])).toBe(true);
    expect(expr('NotIn', 'region', ['us'])).toBe(false);
    expect(expr('NotIn', 'gpu', ['yes'])).toBe(true);
    expect(expr('Exists', 'tier')).toBe(true);
    expect(expr('Exists', 'gpu')).toBe(false);
    expect(expr('DoesNotExist', 'gpu')).toBe(true);
    expect(expr('DoesNotExist', 'tier')).toBe(false);
  });
  test('a missing selector matches nothing, an empty one everything, missing labels are none', () => {
    expect(matchesSelector(labels, undefined)).toBe(false);
    expect(matchesSelector(undefined, {})).toBe(true);
    expect(matchesSelector(undefined, { matchLabels: { a: '1' } })).toBe(false);
  });
});
