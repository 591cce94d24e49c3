import { describe, expect, test } from 'vitest';
import {
  type RolloutStand,
  readRolloutCondition,
  rolloutCondition,
  rolloutPauseRequested,
} from './rollout-condition.ts';
import { ANNOTATION_ROLLOUT_PAUSED, YAS_CONDITION_ROLLOUT } from './yurtappset.ts';

describe('the rollout condition the controller writes is the one the app reads', () => {
  const stands: RolloutStand[] = [
    { kind: 'complete' },
    { kind: 'rolling', updating: ['north'], waiting: ['south', 'west'] },
    { kind: 'rolling', updating: [], waiting: ['south'] },
    { kind: 'failing', pool: 'south', reason: 'ProgressDeadlineExceeded: ReplicaSet "web-1" has timed out' },
    { kind: 'paused', waiting: ['north', 'south'] },
    { kind: 'paused', waiting: [] },
  ];
  test.each(stands)('%o round-trips', (s) => {
    const c = rolloutCondition(s);
    expect(c.type).toBe(YAS_CONDITION_ROLLOUT);
    expect(readRolloutCondition(c)).toEqual(s);
  });

  test('paused and failing are False (the rollout does not progress); the message says what to do', () => {
    const paused = rolloutCondition({ kind: 'paused', waiting: ['a'] });
    expect(paused.status).toBe('False');
    expect(paused.message).toContain(ANNOTATION_ROLLOUT_PAUSED);
    expect(rolloutCondition({ kind: 'failing', pool: 'a', reason: 'x' }).status).toBe('False');
    expect(rolloutCondition({ kind: 'complete' }).status).toBe('True');
  });

  test('a condition of another writer is not guessed at', () => {
    expect(readRolloutCondition(undefined)).toBeUndefined();
    expect(
      readRolloutCondition({ reason: 'SomethingElse', message: 'pool a is failing: x' }),
    ).toBeUndefined();
    expect(readRolloutCondition({ reason: 'RolloutPaused', message: 'not our shape' })).toBeUndefined();
  });

  test('only "true" asks for the pause', () => {
    expect(rolloutPauseRequested({ [ANNOTATION_ROLLOUT_PAUSED]: 'true' })).toBe(true);
    expect(rolloutPauseRequested({ [ANNOTATION_ROLLOUT_PAUSED]: 'yes' })).toBe(false);
    expect(rolloutPauseRequested(undefined)).toBe(false);
  });
});
