import { describe, expect, it } from 'vitest';
import type { NodePoolWire, YurtAppSetWire } from '../../src-main/ipc/types.ts';
import { autonomyOf, targetPools } from './fleet.ts';

const pool = (name: string, labels: Record<string, string> = {}): NodePoolWire => ({
  name,
  labels,
  type: 'Edge',
});

describe('fleet model', () => {
  it('reads autonomy from the current annotation first, then binding, then the legacy one', () => {
    const n = (annotations: Record<string, string>) => ({ name: 'n', annotations, conditions: [] });
    expect(autonomyOf(n({ 'node.openyurt.io/autonomy-duration': '0' }))).toBe('never evicted');
    expect(autonomyOf(n({ 'node.openyurt.io/autonomy-duration': '5m' }))).toBe('5m');
    expect(autonomyOf(n({ 'apps.openyurt.io/binding': 'true' }))).toBe('pods bound');
    expect(autonomyOf(n({ 'node.beta.openyurt.io/autonomy': 'true' }))).toBe('on (legacy)');
    expect(autonomyOf(n({ 'node.beta.openyurt.io/autonomy': 'false' }))).toBeUndefined();
  });

  it('a YurtAppSet targets its listed pools plus the pools its selector matches', () => {
    const yas: YurtAppSetWire = {
      name: 'web',
      namespace: 'default',
      pools: ['a'],
      nodepoolSelector: { matchLabels: { tier: 'edge' } },
      workloadKind: 'Deployment',
    };
    const pools = [pool('a'), pool('b', { tier: 'edge' }), pool('c', { tier: 'cloud' })];
    expect(targetPools(yas, pools)).toEqual(['a', 'b']);
    // The controller's rule: a listed pool that does not exist, or is being deleted, gets no workload.
    expect(
      targetPools({ ...yas, pools: ['a', 'ghost'] }, [
        { ...pool('a'), deleting: true },
        pool('b', { tier: 'edge' }),
      ]),
    ).toEqual(['b']);
  });
});
