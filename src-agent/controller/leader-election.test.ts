import { describe, expect, test } from 'vitest';
import { canAcquire, microTime } from './leader-election.ts';

describe('lease rules', () => {
  const t = Date.parse('2025-01-01T00:00:00Z');
  test('free, own or expired leases can be taken; a live one cannot', () => {
    expect(canAcquire(undefined, 'me', t)).toBe(true);
    expect(
      canAcquire(
        { holderIdentity: 'me', renewTime: microTime(new Date(t)), leaseDurationSeconds: 10 },
        'me',
        t,
      ),
    ).toBe(true);
    expect(
      canAcquire(
        { holderIdentity: 'x', renewTime: microTime(new Date(t - 5000)), leaseDurationSeconds: 10 },
        'me',
        t,
      ),
    ).toBe(false);
    expect(
      canAcquire(
        { holderIdentity: 'x', renewTime: microTime(new Date(t - 11000)), leaseDurationSeconds: 10 },
        'me',
        t,
      ),
    ).toBe(true);
  });
  test('MicroTime has microseconds', () => {
    expect(microTime(new Date(t))).toBe('2025-01-01T00:00:00.000000Z');
  });
});
