import { describe, expect, test } from 'vitest';
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
});
