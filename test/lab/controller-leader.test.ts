/**
 * Leader election under clock skew, against a real kube-apiserver: replicas whose wall clocks are
 * 30 s apart (an injected clock; the election reads nothing else) never lead at the same time, a
 * replica ahead does not steal a lease that is being renewed, and after the leader is killed the
 * next one — ahead or behind — takes over within 15 s. Replicas run in this process with the
 * controller's defaults (lease 10 s, renew and retry every 2 s); a kill stops a replica's API calls
 * dead (they never answer, nothing is released), as SIGKILL would.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { KubeClient, kubeconfigConnection, RESOURCES } from '../../src-agent/api/kube-client.ts';
import { type Clock, LeaderElector, type Lease } from '../../src-agent/controller/leader-election.ts';
import { Cluster } from './cluster.ts';
import { until } from './until.ts';

const LEASE = { namespace: 'kube-system', name: 'skew-test' };
const quiet = { info: () => {}, error: () => {} };

interface Replica {
  identity: string;
  elector: LeaderElector;
  leading: boolean;
  dead: boolean;
  kill(): void;
}

describe('leader election with wall clocks 30 s apart', () => {
  let dir = '';
  let cluster: Cluster | undefined;
  const clients: KubeClient[] = [];
  const stops: AbortController[] = [];
  const replicas: Replica[] = [];
  /** Every moment two live replicas considered themselves leader, checked on each change and every 50 ms. */
  const splitBrain: string[] = [];
  let sampler: NodeJS.Timeout | undefined;

  const leaders = () => replicas.filter((r) => !r.dead && (r.leading || r.elector.isLeader));
  const check = (when: string) => {
    const l = leaders();
    if (l.length > 1) splitBrain.push(`${when}: ${l.map((r) => r.identity).join(' + ')}`);
  };

  /** A replica whose wall clock is `skewMs` off; its calls hang forever once killed. */
  function startReplica(identity: string, skewMs: number): Replica {
    const client = new KubeClient(kubeconfigConnection((cluster as Cluster).kubeconfigPath), identity);
    clients.push(client);
    let dead = false;
    const hang = new Promise<never>(() => {});
    const gated = new Proxy(client, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => (dead ? hang : v.apply(target, args));
      },
    });
    const clock: Clock = { wallMs: () => Date.now() + skewMs, monotonicMs: () => performance.now() };
    const elector = new LeaderElector(gated, {
      ...LEASE,
      identity,
      leaseDurationSeconds: 10,
      clock,
      log: quiet,
    });
    const stop = new AbortController();
    stops.push(stop);
    const r: Replica = {
      identity,
      elector,
      leading: false,
      dead: false,
      kill() {
        dead = true;
        r.dead = true;
        stop.abort();
      },
    };
    replicas.push(r);
    void elector.run(
      stop.signal,
      () => {
        r.leading = true;
        check(`${identity} started leading`);
      },
      () => {
        r.leading = false;
      },
    );
    return r;
  }

  const holder = async () =>
    (await clients[0]?.get<Lease>(RESOURCES.leases, LEASE.name, LEASE.namespace))?.spec ?? {};
  const leadingWithin = async (r: Replica, ms: number) => {
    const t0 = Date.now();
    await until(`${r.identity} to lead`, ms + 5_000, async () => r.leading, 50);
    return Date.now() - t0;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ef-leader-'));
    cluster = await Cluster.start({ dir, bindAddress: '127.0.0.1' });
    sampler = setInterval(() => check('sample'), 50);
  });

  afterAll(async () => {
    clearInterval(sampler);
    for (const s of stops) s.abort();
    for (const c of clients) c.close();
    try {
      await cluster?.stop();
    } finally {
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  });

  test('no split brain, no stolen lease, takeover within 15 s in both directions', async () => {
    const behind = startReplica('behind', -30_000);
    await leadingWithin(behind, 5_000);

    // A replica 60 s ahead of the leader reads a renewTime a minute old: it must still wait.
    const ahead = startReplica('ahead', +30_000);
    await sleep(15_000);
    expect(ahead.leading).toBe(false);
    expect(behind.leading).toBe(true);
    expect((await holder()).holderIdentity).toBe('behind');

    behind.kill();
    const aheadTakeover = await leadingWithin(ahead, 15_000);
    expect(aheadTakeover).toBeLessThan(15_000);
    // The lease really carries the skewed clock: renewTime lies about 30 s in the real future.
    const renew = Date.parse((await holder()).renewTime ?? '');
    expect(renew - Date.now()).toBeGreaterThan(25_000);

    // A fresh replica 60 s behind the new leader reads a renewTime a minute in its future.
    const late = startReplica('late', -30_000);
    await sleep(4_000);
    expect(late.leading).toBe(false);
    ahead.kill();
    const lateTakeover = await leadingWithin(late, 15_000);
    expect(lateTakeover).toBeLessThan(15_000);
    expect(await holder()).toMatchObject({ holderIdentity: 'late', leaseTransitions: 2 });

    expect(splitBrain).toEqual([]);
    console.log(`takeover after kill: ahead ${aheadTakeover} ms, behind ${lateTakeover} ms`);
  }, 120_000);
});
