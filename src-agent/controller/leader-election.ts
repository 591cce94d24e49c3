/**
 * Lease-based leader election (coordination.k8s.io/v1), compatible with client-go's: the holder
 * renews spec.renewTime; a candidate takes over once leaseDurationSeconds have passed on its own
 * monotonic clock since it last saw the lease record change. renewTime is written for people and
 * other tools but never compared with the local wall clock, so replicas whose clocks disagree
 * (by any amount) neither steal a live lease nor wait too long after a crash. With the defaults a
 * killed leader is replaced within lease + retry ≈ 12 s of its last renewal.
 */
import { isConflict, isNotFound, type KubeClient, type KubeObject, RESOURCES } from '../api/kube-client.ts';
import { sleep } from './informer.ts';
import type { Log } from './runner.ts';

export interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

/** Wall time for the timestamps written into the Lease, monotonic time for every decision. */
export interface Clock {
  wallMs(): number;
  monotonicMs(): number;
}

export const systemClock: Clock = { wallMs: () => Date.now(), monotonicMs: () => performance.now() };

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  renewIntervalMs?: number;
  retryIntervalMs?: number;
  clock?: Clock;
  log: Log;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
export const microTime = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

/** The fields whose change proves the holder is alive (client-go compares the whole record). */
const recordOf = (s: LeaseSpec | undefined) =>
  JSON.stringify([
    s?.holderIdentity ?? '',
    s?.leaseDurationSeconds ?? 0,
    s?.acquireTime ?? '',
    s?.renewTime ?? '',
    s?.leaseTransitions ?? 0,
  ]);

/** The last lease record this replica saw and when, on its monotonic clock. */
export interface Observation {
  record: string;
  atMs: number;
}

/** Folds a freshly read lease into the observation: the time moves only when the record changed. */
export function observe(
  prev: Observation | undefined,
  lease: LeaseSpec | undefined,
  nowMs: number,
): Observation {
  const record = recordOf(lease);
  return prev?.record === record ? prev : { record, atMs: nowMs };
}

/**
 * Whether `identity` may take `lease`: it is free, already ours, or its record has not changed for
 * leaseDurationSeconds since we observed it (`seen`), measured on our monotonic clock `nowMs`.
 */
export function canAcquire(
  lease: LeaseSpec | undefined,
  identity: string,
  seen: Observation,
  nowMs: number,
): boolean {
  if (!lease?.holderIdentity || lease.holderIdentity === identity) return true;
  return nowMs >= seen.atMs + (lease.leaseDurationSeconds ?? 15) * 1000;
}

export class LeaderElector {
  private readonly client: KubeClient;
  private readonly o: Required<LeaderElectionOptions>;
  private seen: Observation | undefined;
  isLeader = false;

  constructor(client: KubeClient, opts: LeaderElectionOptions) {
    this.client = client;
    this.o = {
      leaseDurationSeconds: 10,
      renewIntervalMs: 2000,
      retryIntervalMs: 2000,
      clock: systemClock,
      ...opts,
    };
  }

  /** One acquire-or-renew attempt; true when we hold the lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity, leaseDurationSeconds, clock } = this.o;
    let lease: Lease | undefined;
    try {
      lease = await this.client.get<Lease>(RESOURCES.leases, name, namespace);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    // Read the clocks after the GET: a slow answer must not count as time the holder was silent.
    const mono = clock.monotonicMs();
    const now = new Date(clock.wallMs());
    if (!lease) {
      const spec: LeaseSpec = {
        holderIdentity: identity,
        leaseDurationSeconds,
        acquireTime: microTime(now),
        renewTime: microTime(now),
        leaseTransitions: 0,
      };
      try {
        await this.client.create<Lease>(RESOURCES.leases, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec,
        });
        this.seen = observe(undefined, spec, mono);
        return true;
      } catch (e) {
        if (isConflict(e) || (e as { status?: number }).status === 409) return false;
        throw e;
      }
    }
    this.seen = observe(this.seen, lease.spec, mono);
    if (!canAcquire(lease.spec, identity, this.seen, mono)) return false;
    const takingOver = lease.spec?.holderIdentity !== identity;
    const spec: LeaseSpec = {
      ...lease.spec,
      holderIdentity: identity,
      leaseDurationSeconds,
      renewTime: microTime(now),
    };
    if (takingOver) {
      spec.acquireTime = microTime(now);
      spec.leaseTransitions = (lease.spec?.leaseTransitions ?? 0) + (lease.spec?.holderIdentity ? 1 : 0);
    }
    try {
      // PUT with the read resourceVersion: two candidates cannot both win.
      await this.client.update<Lease>(RESOURCES.leases, { ...lease, spec });
      this.seen = observe(this.seen, spec, mono);
      return true;
    } catch (e) {
      if (isConflict(e)) return false;
      throw e;
    }
  }

  /**
   * Blocks until leadership is acquired, calls onStarted, then keeps renewing. If renewal fails for
   * longer than 80 % of the lease, leadership is lost: onStopped runs and run() resolves (the process
   * should exit so it never acts as a second leader). Standbys wait the full lease, so the old leader
   * has stopped before anyone else can start.
   */
  async run(signal: AbortSignal, onStarted: () => void, onStopped: () => void): Promise<void> {
    const { log, identity, retryIntervalMs, renewIntervalMs, leaseDurationSeconds, clock } = this.o;
    while (!signal.aborted && !this.isLeader) {
      try {
        this.isLeader = await this.tryAcquireOrRenew();
      } catch (e) {
        log.error(`leader election: ${(e as Error).message}`);
      }
      if (!this.isLeader) await sleep(retryIntervalMs * (0.8 + Math.random() * 0.4), signal);
    }
    if (signal.aborted) return;
    log.info(`leader election: ${identity} is the leader`);
    onStarted();
    let lastRenew = clock.monotonicMs();
    while (!signal.aborted) {
      await sleep(renewIntervalMs, signal);
      if (signal.aborted) break;
      try {
        if (await this.tryAcquireOrRenew()) {
          lastRenew = clock.monotonicMs();
          continue;
        }
        log.error(`leader election: lease taken by another holder`);
      } catch (e) {
        log.error(`leader election: renew failed: ${(e as Error).message}`);
        if (clock.monotonicMs() - lastRenew < leaseDurationSeconds * 1000 * 0.8) continue;
      }
      this.isLeader = false;
      onStopped();
      return;
    }
    await this.release();
  }

  /** On clean shutdown hand the lease over at once instead of making others wait it out. */
  async release(): Promise<void> {
    if (!this.isLeader) return;
    this.isLeader = false;
    try {
      const lease = await this.client.get<Lease>(RESOURCES.leases, this.o.name, this.o.namespace);
      if (lease.spec?.holderIdentity !== this.o.identity) return;
      await this.client.update<Lease>(RESOURCES.leases, {
        ...lease,
        spec: {
          ...lease.spec,
          holderIdentity: null,
          leaseDurationSeconds: 1,
          renewTime: microTime(new Date(this.o.clock.wallMs())),
        },
      });
    } catch (e) {
      this.o.log.error(`leader election: release failed: ${(e as Error).message}`);
    }
  }
}
