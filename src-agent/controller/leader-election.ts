/**
 * Lease-based leader election (coordination.k8s.io/v1), compatible with client-go's: the holder
 * renews spec.renewTime; a candidate takes over once renewTime + leaseDurationSeconds has passed
 * by its own clock. With the defaults a killed leader is replaced within lease + retry ≈ 12 s.
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

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  renewIntervalMs?: number;
  retryIntervalMs?: number;
  log: Log;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
export const microTime = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

/** Whether `lease` can be taken by `identity` at time `now`. */
export function canAcquire(lease: LeaseSpec | undefined, identity: string, now: number): boolean {
  if (!lease?.holderIdentity || lease.holderIdentity === identity) return true;
  const renew = Date.parse(lease.renewTime ?? lease.acquireTime ?? '');
  if (Number.isNaN(renew)) return true;
  return now > renew + (lease.leaseDurationSeconds ?? 15) * 1000;
}

export class LeaderElector {
  private readonly client: KubeClient;
  private readonly o: Required<LeaderElectionOptions>;
  isLeader = false;

  constructor(client: KubeClient, opts: LeaderElectionOptions) {
    this.client = client;
    this.o = { leaseDurationSeconds: 10, renewIntervalMs: 2000, retryIntervalMs: 2000, ...opts };
  }

  /** One acquire-or-renew attempt; true when we hold the lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity, leaseDurationSeconds } = this.o;
    const now = new Date();
    let lease: Lease | undefined;
    try {
      lease = await this.client.get<Lease>(RESOURCES.leases, name, namespace);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    if (!lease) {
      try {
        await this.client.create<Lease>(RESOURCES.leases, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: 0,
          },
        });
        return true;
      } catch (e) {
        if (isConflict(e) || (e as { status?: number }).status === 409) return false;
        throw e;
      }
    }
    if (!canAcquire(lease.spec, identity, now.getTime())) return false;
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
      return true;
    } catch (e) {
      if (isConflict(e)) return false;
      throw e;
    }
  }

  /**
   * Blocks until leadership is acquired, calls onStarted, then keeps renewing. If renewal fails for
   * longer than the lease, leadership is lost: onStopped runs and run() resolves (the process should
   * exit so it never acts as a second leader).
   */
  async run(signal: AbortSignal, onStarted: () => void, onStopped: () => void): Promise<void> {
    const { log, identity, retryIntervalMs, renewIntervalMs, leaseDurationSeconds } = this.o;
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
    let lastRenew = Date.now();
    while (!signal.aborted) {
      await sleep(renewIntervalMs, signal);
      if (signal.aborted) break;
      try {
        if (await this.tryAcquireOrRenew()) {
          lastRenew = Date.now();
          continue;
        }
        log.error(`leader election: lease taken by another holder`);
      } catch (e) {
        log.error(`leader election: renew failed: ${(e as Error).message}`);
        if (Date.now() - lastRenew < leaseDurationSeconds * 1000 * 0.8) continue;
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
          renewTime: microTime(new Date()),
        },
      });
    } catch (e) {
      this.o.log.error(`leader election: release failed: ${(e as Error).message}`);
    }
  }
}
