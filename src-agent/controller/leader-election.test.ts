import { describe, expect, test } from 'vitest';
import { KubeApiError, type KubeClient } from '../api/kube-client.ts';
import {
  type Clock,
  canAcquire,
  LeaderElector,
  type Lease,
  type LeaseSpec,
  microTime,
  observe,
} from './leader-election.ts';

const t = Date.parse('2025-01-01T00:00:00Z');
const quiet = { info: () => {}, error: () => {} };

describe('lease rules', () => {
  const live = (renewTime: number): LeaseSpec => ({
    holderIdentity: 'x',
    renewTime: microTime(new Date(renewTime)),
    leaseDurationSeconds: 10,
  });

  test('free or own leases can be taken at once', () => {
    const seen = observe(undefined, undefined, 0);
    expect(canAcquire(undefined, 'me', seen, 0)).toBe(true);
    expect(canAcquire({ holderIdentity: null }, 'me', seen, 0)).toBe(true);
    expect(canAcquire({ ...live(t), holderIdentity: 'me' }, 'me', seen, 0)).toBe(true);
  });

  test("another holder's lease expires leaseDuration after we saw it change, whatever its renewTime says", () => {
    // renewTime far in the past (our clock ahead) or far in the future (our clock behind): irrelevant.
    for (const renew of [t - 3_600_000, t + 3_600_000]) {
      const seen = observe(undefined, live(renew), 1_000);
      expect(canAcquire(live(renew), 'me', seen, 1_000)).toBe(false);
      expect(canAcquire(live(renew), 'me', seen, 10_999)).toBe(false);
      expect(canAcquire(live(renew), 'me', seen, 11_000)).toBe(true);
    }
  });

  test('the observation time moves only when the record changes', () => {
    const a = observe(undefined, live(t), 100);
    expect(observe(a, live(t), 5_000)).toBe(a);
    expect(observe(a, live(t + 2_000), 5_000)).toEqual({ record: expect.any(String), atMs: 5_000 });
    expect(observe(a, { ...live(t), leaseTransitions: 1 }, 6_000).atMs).toBe(6_000);
    expect(observe(a, { ...live(t), holderIdentity: 'y' }, 7_000).atMs).toBe(7_000);
  });

  test('MicroTime has microseconds', () => {
    expect(microTime(new Date(t))).toBe('2025-01-01T00:00:00.000000Z');
  });
});

/** One Lease with optimistic concurrency, as the API server keeps it. */
function fakeLeaseApi() {
  let stored: Lease | undefined;
  let rv = 0;
  const conflict = () => new KubeApiError('PUT', '/lease', 409, 'Conflict', 'stale resourceVersion');
  const client = {
    get: async () => {
      if (!stored) throw new KubeApiError('GET', '/lease', 404, 'NotFound', 'no lease');
      return structuredClone(stored);
    },
    create: async (_r: unknown, obj: Lease) => {
      if (stored) throw conflict();
      stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++rv) } };
      return structuredClone(stored);
    },
    update: async (_r: unknown, obj: Lease) => {
      if (obj.metadata.resourceVersion !== stored?.metadata.resourceVersion) throw conflict();
      stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++rv) } };
      return structuredClone(stored);
    },
  };
  return { client: client as unknown as KubeClient, lease: () => stored };
}

/** A clock we move by hand; `skewMs` shifts only its wall time, as a wrong system clock does. */
function manualClock(skewMs: number): Clock & { advance(ms: number): void } {
  let mono = 0;
  return {
    wallMs: () => t + mono + skewMs,
    monotonicMs: () => mono,
    advance: (ms) => {
      mono += ms;
    },
  };
}

describe('LeaderElector with wall clocks 30 s apart', () => {
  const elector = (client: KubeClient, identity: string, clock: Clock) =>
    new LeaderElector(client, {
      namespace: 'ns',
      name: 'l',
      identity,
      leaseDurationSeconds: 10,
      clock,
      log: quiet,
    });

  test('a replica ahead does not steal a renewed lease; one behind takes over a lease after 10 s of silence', async () => {
    const api = fakeLeaseApi();
    const behindClock = manualClock(-30_000);
    const aheadClock = manualClock(+30_000);
    const behind = elector(api.client, 'behind', behindClock);
    const ahead = elector(api.client, 'ahead', aheadClock);
    const tick = (ms: number) => {
      behindClock.advance(ms);
      aheadClock.advance(ms);
    };

    expect(await behind.tryAcquireOrRenew()).toBe(true);
    // The leader renews every 2 s; its renewTime reads 60 s old to the replica ahead.
    for (let i = 0; i < 15; i++) {
      expect(await ahead.tryAcquireOrRenew()).toBe(false);
      tick(2_000);
      expect(await behind.tryAcquireOrRenew()).toBe(true);
    }
    expect(api.lease()?.spec?.holderIdentity).toBe('behind');

    // The leader ("behind") stops; "ahead" takes over exactly when 10 s passed since the last change it saw.
    expect(await ahead.tryAcquireOrRenew()).toBe(false);
    tick(9_999);
    expect(await ahead.tryAcquireOrRenew()).toBe(false);
    tick(1);
    expect(await ahead.tryAcquireOrRenew()).toBe(true);
    expect(api.lease()?.spec).toMatchObject({ holderIdentity: 'ahead', leaseTransitions: 1 });

    // And the other way: "ahead" stops, a fresh replica whose clock is 60 s behind it takes over after 10 s,
    // although the renewTime it reads lies a minute in its future.
    const lateClock = manualClock(-30_000);
    const late = elector(api.client, 'late', lateClock);
    expect(await late.tryAcquireOrRenew()).toBe(false);
    lateClock.advance(10_000);
    expect(await late.tryAcquireOrRenew()).toBe(true);
    expect(api.lease()?.spec).toMatchObject({ holderIdentity: 'late', leaseTransitions: 2 });
  });

  test('a released lease is taken at once', async () => {
    const api = fakeLeaseApi();
    const clock = manualClock(0);
    const a = elector(api.client, 'a', clock);
    const b = elector(api.client, 'b', manualClock(30_000));
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    a.isLeader = true;
    await a.release();
    expect(await b.tryAcquireOrRenew()).toBe(true);
  });
});
