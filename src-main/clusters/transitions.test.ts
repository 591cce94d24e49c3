import { describe, expect, it } from 'vitest';
import { rolloutCondition } from '../../src-agent/api/rollout-condition.ts';
import type { NodeWire, YurtAppSetWire } from '../ipc/types.ts';
import { DerivedEvents } from './derived-events.ts';
import { nodeTransition, poolTransition, rolloutTransition } from './transitions.ts';

const NOW = Date.parse('2026-01-01T01:00:00Z');

function node(
  name: string,
  ready: 'True' | 'False' | 'Unknown',
  opts: { since?: string; autonomy?: boolean; pool?: string; cordoned?: boolean } = {},
): NodeWire {
  return {
    name,
    rv: `${name}-${ready}-${opts.since ?? ''}`,
    labels: opts.pool ? { 'apps.openyurt.io/nodepool': opts.pool } : undefined,
    annotations: opts.autonomy ? { 'node.openyurt.io/autonomy-duration': '0' } : undefined,
    unschedulable: opts.cordoned,
    conditions: [
      {
        type: 'Ready',
        status: ready,
        since: opts.since ?? '2026-01-01T00:00:00Z',
        message: 'Kubelet stopped posting node status.',
      },
      ...(opts.autonomy ? [{ type: 'Autonomy', status: 'True' as const }] : []),
    ],
  };
}

describe('node transitions', () => {
  it('ready → not ready → ready again, each with since-when', () => {
    const down = nodeTransition(
      node('n', 'True'),
      node('n', 'Unknown', { since: '2026-01-01T00:50:00Z' }),
      NOW,
    );
    expect(down).toMatchObject({
      type: 'Derived',
      severity: 'warning',
      reason: 'NodeNotReady',
      firstAt: '2026-01-01T00:50:00Z',
      object: { kind: 'Node', name: 'n' },
    });
    expect(down?.message).toContain('Kubelet stopped posting');
    const up = nodeTransition(
      node('n', 'Unknown'),
      node('n', 'True', { since: '2026-01-01T00:55:00Z' }),
      NOW,
    );
    expect(up).toMatchObject({ reason: 'NodeReady', severity: 'info', lastAt: '2026-01-01T00:55:00Z' });
  });

  it('a cut-off autonomous node is told apart from a dead one', () => {
    const t = nodeTransition(
      node('n', 'True', { autonomy: true }),
      node('n', 'Unknown', { autonomy: true }),
      NOW,
    );
    expect(t?.reason).toBe('NodeCutOffAutonomous');
  });

  it('no change, a cordon, or the first sighting of a ready node is no transition', () => {
    expect(nodeTransition(node('n', 'True'), node('n', 'True'), NOW)).toBeNull();
    expect(nodeTransition(node('n', 'True'), node('n', 'True', { cordoned: true }), NOW)).toBeNull();
    expect(nodeTransition(undefined, node('n', 'True'), NOW)).toBeNull();
    expect(nodeTransition(undefined, node('n', 'False'), NOW)?.reason).toBe('NodeNotReady');
  });

  it('the same transition seen twice (a re-list) has the same uid, so the feed keeps one', () => {
    const a = nodeTransition(undefined, node('n', 'False', { since: '2026-01-01T00:10:00Z' }), NOW);
    const b = nodeTransition(node('n', 'True'), node('n', 'False', { since: '2026-01-01T00:10:00Z' }), NOW);
    expect(a?.uid).toBe(b?.uid);
  });
});

describe('pool transitions', () => {
  it('drops below all-ready and gets back to it; first sighting only when degraded', () => {
    expect(poolTransition('p', undefined, { members: 2, up: 2 }, NOW)).toBeNull();
    const down = poolTransition('p', { members: 2, up: 2 }, { members: 2, up: 1, since: 'S' }, NOW);
    expect(down).toMatchObject({
      reason: 'PoolDegraded',
      message: 'Pool p: 1 of 2 nodes not ready.',
      firstAt: 'S',
    });
    expect(poolTransition('p', { members: 2, up: 1 }, { members: 2, up: 0 }, NOW)).toBeNull();
    expect(poolTransition('p', { members: 2, up: 1 }, { members: 2, up: 2 }, NOW)?.reason).toBe('PoolReady');
    expect(poolTransition('p', undefined, { members: 3, up: 1 }, NOW)?.reason).toBe('PoolDegraded');
  });

  it('DerivedEvents follows members as nodes change state and pool', () => {
    const d = new DerivedEvents(() => NOW);
    const a = node('a', 'True', { pool: 'north' });
    const b = node('b', 'True', { pool: 'north' });
    d.node(undefined, a);
    d.node(undefined, b);
    expect(d.pools()).toEqual([]);
    const bDown = node('b', 'False', { pool: 'north', since: '2026-01-01T00:59:00Z' });
    const found = [...d.node(b, bDown), ...d.pools()].map((e) => `${e.object.kind}:${e.reason}`);
    expect(found).toEqual(['Node:NodeNotReady', 'NodePool:PoolDegraded']);
    // b leaves the pool: north is all ready again, the new pool south starts degraded.
    const bSouth = node('b', 'False', { pool: 'south', since: '2026-01-01T00:59:00Z' });
    const moved = [...d.node(bDown, bSouth), ...d.pools()].map((e) => `${e.object.name}:${e.reason}`);
    expect(moved.sort()).toEqual(['north:PoolReady', 'south:PoolDegraded']);
    // b recovers in south: south all ready; a flaps in north twice: degraded, then ready.
    const bUp = node('b', 'True', { pool: 'south', since: '2026-01-01T00:59:30Z' });
    expect([...d.node(bSouth, bUp), ...d.pools()].map((e) => e.reason)).toEqual(['NodeReady', 'PoolReady']);
    const aDown = node('a', 'Unknown', { pool: 'north', since: '2026-01-01T00:59:40Z' });
    expect([...d.node(a, aDown), ...d.pools()].map((e) => e.reason)).toEqual([
      'NodeNotReady',
      'PoolDegraded',
    ]);
    expect(d.pools()).toEqual([]);
    const aUp = node('a', 'True', { pool: 'north', since: '2026-01-01T00:59:50Z' });
    const back = [...d.node(aDown, aUp), ...d.pools()];
    expect(back.map((e) => e.reason)).toEqual(['NodeReady', 'PoolReady']);
    expect(back[1]?.firstAt).toBe('2026-01-01T00:59:50Z');
  });
});

describe('rollout transitions', () => {
  const yas = (
    reason?: string,
    since = 'T1',
    message = 'pool south is failing: ErrImagePull',
  ): YurtAppSetWire => ({
    name: 'web',
    namespace: 'default',
    workloadKind: 'Deployment',
    status: reason
      ? {
          conditions: [
            {
              type: 'RolloutProgressing',
              status: reason === 'RollingOut' ? 'True' : 'False',
              reason,
              message,
              since,
            },
          ],
        }
      : undefined,
  });
  it('a rollout stopped at a failing pool is a warning, once', () => {
    expect(rolloutTransition(yas('RollingOut'), yas('RolloutPaused'))).toMatchObject({
      reason: 'RolloutStuck',
      severity: 'warning',
      message: 'Rollout of web stopped at pool south: ErrImagePull',
      object: { kind: 'YurtAppSet', namespace: 'default', name: 'web' },
    });
    expect(rolloutTransition(yas('RolloutPaused'), yas('RolloutPaused'))).toBeNull();
    expect(rolloutTransition(undefined, yas('RollingOut'))).toBeNull();
    expect(rolloutTransition(yas('RolloutPaused'), yas('RolloutPaused', 'T2'))).not.toBeNull();
  });
  it('a rollout a user paused is information, naming the waiting pools (condition as the controller writes it)', () => {
    const c = rolloutCondition({ kind: 'paused', waiting: ['north', 'south'] });
    const paused: YurtAppSetWire = {
      ...yas(),
      status: {
        conditions: [
          {
            type: c.type,
            status: 'False',
            ...(c.reason ? { reason: c.reason } : {}),
            message: c.message ?? '',
            since: 'T3',
          },
        ],
      },
    };
    expect(rolloutTransition(yas('RollingOut'), paused)).toMatchObject({
      reason: 'RolloutPaused',
      severity: 'info',
      message: 'Rollout of web paused by a user; waiting: north, south.',
    });
  });
});
