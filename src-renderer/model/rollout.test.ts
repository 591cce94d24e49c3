import { describe, expect, test } from 'vitest';
import { rolloutCondition } from '../../src-agent/api/rollout-condition.ts';
import type { YurtAppSetWire } from '../../src-main/ipc/types.ts';
import { desiredImage, rollout } from './rollout.ts';

const yas = (reason: string, message: string): YurtAppSetWire => ({
  name: 'web',
  namespace: 'default',
  workloadKind: 'Deployment',
  image: 'web:v2',
  tweaks: [{ pools: ['south'], images: [{ name: 'web', targetImage: 'web:south' }] }],
  status: { conditions: [{ type: 'RolloutProgressing', status: 'True', reason, message }] },
});
const row = (pool: string, pods: number, updatedPods: number, readyPods: number) => ({
  pool,
  pods,
  updatedPods,
  readyPods,
});

describe('rollout per pool', () => {
  test('a tweak image wins for its pool', () => {
    const y = yas('Complete', '');
    expect(desiredImage(y, 'south')).toBe('web:south');
    expect(desiredImage(y, 'north')).toBe('web:v2');
  });
  test('rolling: updated, updating and waiting pools from the controller and the pods', () => {
    const r = rollout(yas('RollingOut', 'updating east; waiting west'), [
      row('east', 2, 1, 1),
      row('north', 1, 1, 1),
      row('west', 1, 0, 1),
    ]);
    expect(r.summary).toBe('Rolling out pool by pool');
    expect(r.pools.map((p) => [p.pool, p.state, p.image])).toEqual([
      ['east', 'updating', 'web:v2'],
      ['north', 'updated', 'web:v2'],
      ['west', 'waiting', 'web:v2'],
    ]);
  });
  test('paused at a failing pool: that pool named with the reason, the others held', () => {
    const r = rollout(
      yas('RolloutPaused', 'pool south is failing: ProgressDeadlineExceeded: ImagePullBackOff'),
      [row('north', 1, 0, 1), row('south', 1, 1, 0)],
    );
    expect(r.paused).toEqual({ pool: 'south', reason: 'ProgressDeadlineExceeded: ImagePullBackOff' });
    expect(r.summary).toMatch(/^Paused at pool south/);
    expect(r.pools.map((p) => p.state)).toEqual(['held', 'paused-here']);
  });
  test('held by the pause: the pools that would change are held, the rest updated; a fresh request says so', () => {
    const held = rolloutCondition({ kind: 'paused', waiting: ['west'] });
    const r = rollout({ ...yas('x', ''), pauseRequested: true, status: { conditions: [held] } }, [
      row('north', 1, 1, 1),
      row('west', 1, 0, 1),
    ]);
    expect(r.held).toBe(true);
    expect(r.summary).toMatch(/^Paused: no pool changes/);
    expect(r.pools.map((p) => [p.pool, p.state])).toEqual([
      ['north', 'updated'],
      ['west', 'held-by-pause'],
    ]);
    // The annotation is set but the controller still says it is rolling: not yet held.
    const asked = rollout({ ...yas('RollingOut', 'updating west; waiting -'), pauseRequested: true }, [
      row('west', 1, 0, 1),
    ]);
    expect(asked.held).toBe('requested');
    expect(asked.summary).toBe('Pause requested; waiting for the controller');
    expect(asked.pools[0]?.state).toBe('updating');
  });
});
