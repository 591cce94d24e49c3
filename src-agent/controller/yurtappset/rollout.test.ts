import { describe, expect, test } from 'vitest';
import { observeWorkload, planRollout, type WorkloadState } from './rollout.ts';

const ok = (revision: string): WorkloadState => ({ revision, rolledOut: true, ready: true });
const desired = (rev: string) => ['a', 'b', 'c'].map((pool) => ({ pool, revision: rev }));

describe('planRollout', () => {
  test('creates missing pools at once', () => {
    expect(planRollout({ desired: desired('r1'), actual: new Map(), maxUnavailable: 1 }).create).toEqual([
      'a',
      'b',
      'c',
    ]);
  });

  test('updates one pool at a time, in order, only after the previous one is rolled out', () => {
    const actual = new Map([
      ['a', ok('r1')],
      ['b', ok('r1')],
      ['c', ok('r1')],
    ]);
    expect(planRollout({ desired: desired('r2'), actual, maxUnavailable: 1 })).toMatchObject({
      update: ['a'],
      waiting: ['b', 'c'],
    });
    actual.set('a', { revision: 'r2', rolledOut: false, ready: false });
    expect(planRollout({ desired: desired('r2'), actual, maxUnavailable: 1 })).toMatchObject({
      update: [],
      waiting: ['b', 'c'],
    });
    actual.set('a', ok('r2'));
    expect(planRollout({ desired: desired('r2'), actual, maxUnavailable: 1 })).toMatchObject({
      update: ['b'],
      waiting: ['c'],
    });
  });

  test('maxUnavailable 2 updates two pools at once', () => {
    const actual = new Map([
      ['a', ok('r1')],
      ['b', ok('r1')],
      ['c', ok('r1')],
    ]);
    expect(planRollout({ desired: desired('r2'), actual, maxUnavailable: 2 }).update).toEqual(['a', 'b']);
  });

  test('held by the pause annotation: nothing is created or updated, even a failing pool; all wait', () => {
    const actual = new Map<string, WorkloadState>([
      ['a', ok('r1')],
      ['b', { revision: 'r1', rolledOut: false, ready: false, failing: 'ProgressDeadlineExceeded' }],
    ]);
    const plan = planRollout({ desired: desired('r2'), actual, maxUnavailable: 3, held: true });
    expect(plan).toEqual({ create: [], update: [], waiting: ['a', 'b', 'c'], held: true });
    // Up to date pools are not waiting for anything.
    actual.set('a', ok('r2'));
    expect(planRollout({ desired: desired('r2'), actual, maxUnavailable: 1, held: true }).waiting).toEqual([
      'b',
      'c',
    ]);
  });

  test('a failing pool pauses the rollout and is named; a fix still reaches it', () => {
    const actual = new Map<string, WorkloadState>([
      ['a', ok('r2')],
      ['b', { revision: 'r2', rolledOut: false, ready: false, failing: 'ProgressDeadlineExceeded' }],
      ['c', ok('r1')],
    ]);
    const plan = planRollout({ desired: desired('r2'), actual, maxUnavailable: 3 });
    expect(plan.paused).toEqual({ pool: 'b', reason: 'ProgressDeadlineExceeded' });
    expect(plan.update).toEqual([]);
    expect(plan.waiting).toEqual(['c']);
    // A new revision (the fix) goes to the failing pool first, even though a, c are waiting.
    const fix = planRollout({ desired: desired('r3'), actual, maxUnavailable: 1 });
    expect(fix.update).toEqual(['b']);
    expect(fix.waiting).toEqual(['a', 'c']);
  });
});

describe('observeWorkload', () => {
  test('a Deployment is rolled out only when the controller saw the generation and all replicas are new and available', () => {
    const d = {
      metadata: { name: 'x', generation: 2, annotations: { 'apps.edgefleet.io/pool-revision': 'r' } },
      spec: { replicas: 2 },
      status: {
        observedGeneration: 2,
        replicas: 2,
        updatedReplicas: 2,
        readyReplicas: 2,
        availableReplicas: 2,
      },
    };
    expect(observeWorkload('Deployment', d)).toEqual({ revision: 'r', rolledOut: true, ready: true });
    expect(
      observeWorkload('Deployment', { ...d, status: { ...d.status, observedGeneration: 1 } }).rolledOut,
    ).toBe(false);
    expect(observeWorkload('Deployment', { ...d, status: { ...d.status, replicas: 3 } }).rolledOut).toBe(
      false,
    );
    const stuck = observeWorkload('Deployment', {
      ...d,
      status: {
        ...d.status,
        updatedReplicas: 1,
        conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }],
      },
    });
    expect(stuck.failing).toMatch(/ProgressDeadlineExceeded/);
  });
});
