import type { Logger } from './log.ts';
import type { Upstream } from './upstream.ts';

export interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string; [k: string]: unknown };
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string; [k: string]: unknown };
}

export interface HealthOptions {
  upstream: Upstream;
  nodeName: string;
  intervalMs: number;
  kubeletSilenceMs: number;
  leaseDurationSeconds: number;
  log: Logger;
  now?: () => number;
  /** Called with each new copy of the Lease the cloud answered (the hub keeps it on disk). */
  onLease?: (lease: Lease) => void;
}

/** First fast probe after the cloud was found unreachable; later ones double up to the heartbeat interval. */
const RECOVER_FIRST_MS = 1_000;

/** MicroTime as the API server writes it. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * The cloud probe is the node heartbeat itself: renewing `kube-node-lease/<node>` with the hub's own
 * certificate. One failed renewal marks the cloud unhealthy at once (requests go to the cache without
 * waiting on timeouts); two successes in a row restore it (one lucky packet on a flapping link does not).
 * If kubelet goes silent the hub only reads the Lease, so a dead kubelet still turns the node NotReady.
 */
export class HealthChecker {
  private readonly o: HealthOptions;
  private readonly now: () => number;
  private healthy = false;
  private successes = 0;
  private timer: NodeJS.Timeout | undefined;
  private recoverTimer: NodeJS.Timeout | undefined;
  private recoverDelayMs = RECOVER_FIRST_MS;
  private running: Promise<void> | undefined;
  private lease: Lease | undefined;
  private kubeletSeenAt: number;
  private unhealthySince: number | undefined;
  private offlineMsTotal = 0;
  private readonly listeners: ((healthy: boolean) => void)[] = [];
  renewals = 0;
  failures = 0;
  lastError = '';

  constructor(o: HealthOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
    // Grace from start: kubelet may come up after the hub.
    this.kubeletSeenAt = this.now();
    this.unhealthySince = this.now();
  }

  get leasePath(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${encodeURIComponent(this.o.nodeName)}`;
  }

  isHealthy(): boolean {
    return this.healthy;
  }

  /** The hub's latest view of the node Lease, used to answer kubelet's own lease requests. */
  currentLease(): Lease | undefined {
    return this.lease;
  }

  /**
   * The Lease as the hub last saw it before a restart (from disk): without it, kubelet's lease GET
   * after an offline restart is a 404, which sends kubelet to create the Lease — a write the cloud
   * must take, refused offline. A fresh answer from the cloud replaces it.
   */
  seedLease(lease: Lease): void {
    this.lease ??= lease;
  }

  private keep(lease: Lease): void {
    this.lease = lease;
    this.o.onLease?.(lease);
  }

  noteKubelet(): void {
    this.kubeletSeenAt = this.now();
  }

  kubeletSilent(): boolean {
    return this.now() - this.kubeletSeenAt > this.o.kubeletSilenceMs;
  }

  offlineSeconds(): number {
    const cur = this.unhealthySince === undefined ? 0 : this.now() - this.unhealthySince;
    return (this.offlineMsTotal + cur) / 1000;
  }

  onChange(cb: (healthy: boolean) => void): void {
    this.listeners.push(cb);
  }

  /**
   * The first probes after start, then one every interval. A reachable cloud needs two successes to
   * count as healthy, so a first success is followed by a second probe at once; a first failure is
   * not retried (offline it would only add another timeout). The hub serves from its cache meanwhile:
   * until healthy, requests are answered as offline, so nothing waits on these probes.
   */
  async start(): Promise<void> {
    await this.probe();
    if (this.successes === 1) await this.probe();
    this.timer ??= setInterval(() => void this.probe(), this.o.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    clearTimeout(this.recoverTimer);
    this.recoverTimer = undefined;
  }

  /**
   * A proxied request found the cloud unreachable (refused, reset, timed out, or silent past the link
   * check): that is as good as a failed renewal, and waiting for the next one would leave requests
   * hanging on a dead link meanwhile.
   */
  markUnreachable(reason: string): void {
    this.lastError = reason;
    this.record(false);
  }

  /**
   * While unhealthy, probes come sooner than the heartbeat (1 s, doubling up to the interval), so a
   * short cut — or a request that was wrongly taken for one — costs seconds offline, not two intervals.
   */
  private scheduleRecovery(): void {
    clearTimeout(this.recoverTimer);
    if (this.healthy || this.timer === undefined) return;
    this.recoverTimer = setTimeout(() => {
      void this.probe().then(() => {
        this.recoverDelayMs = Math.min(this.recoverDelayMs * 2, this.o.intervalMs);
        this.scheduleRecovery();
      });
    }, this.recoverDelayMs);
    this.recoverTimer.unref();
  }

  /** One renewal (or read, when kubelet is silent); overlapping ticks share the one in flight. */
  probe(): Promise<void> {
    this.running ??= this.renew()
      .then(
        () => this.record(true),
        (err: Error) => {
          this.lastError = err.message;
          this.record(false);
        },
      )
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private record(ok: boolean): void {
    if (ok) {
      this.renewals++;
      this.successes++;
      if (!this.healthy && this.successes >= 2) this.set(true);
    } else {
      this.failures++;
      this.successes = 0;
      if (this.healthy) this.set(false);
    }
  }

  private set(healthy: boolean): void {
    this.healthy = healthy;
    if (healthy && this.unhealthySince !== undefined) {
      this.offlineMsTotal += this.now() - this.unhealthySince;
      this.unhealthySince = undefined;
    } else if (!healthy) this.unhealthySince = this.now();
    this.o.log[healthy ? 'info' : 'warn']('cloud.health', {
      healthy,
      lastError: healthy ? undefined : this.lastError,
    });
    for (const l of this.listeners) l(healthy);
    if (!healthy) {
      this.recoverDelayMs = RECOVER_FIRST_MS;
      this.scheduleRecovery();
    }
  }

  private async renew(): Promise<void> {
    const up = this.o.upstream;
    const got = await up.json('GET', this.leasePath);
    if (this.kubeletSilent()) {
      if (got.status !== 200 && got.status !== 404)
        throw new Error(`reading the node Lease answered ${got.status}`);
      if (got.status === 200) this.keep(got.body as Lease);
      return;
    }
    if (got.status === 404) {
      const created = await up.json(
        'POST',
        '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases',
        this.fresh(),
      );
      if (created.status !== 201 && created.status !== 409)
        throw new Error(`creating the node Lease answered ${created.status}: ${describe(created.body)}`);
      if (created.status === 201) {
        this.keep(created.body as Lease);
        return;
      }
      return this.renew();
    }
    if (got.status !== 200)
      throw new Error(
        `reading the node Lease answered ${got.status}: ${describe(got.body)} (check the hub certificate is system:node:${this.o.nodeName})`,
      );
    const cur = got.body as Lease;
    const next: Lease = {
      ...cur,
      spec: {
        ...cur.spec,
        holderIdentity: this.o.nodeName,
        leaseDurationSeconds: this.o.leaseDurationSeconds,
        renewTime: microTime(this.now()),
      },
    };
    const put = await up.json('PUT', this.leasePath, next);
    if (put.status === 409) {
      // kubelet or another writer renewed in between; the next tick retries with the fresh copy.
      return;
    }
    if (put.status !== 200)
      throw new Error(`renewing the node Lease answered ${put.status}: ${describe(put.body)}`);
    this.keep(put.body as Lease);
  }

  private fresh(): Lease {
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.o.nodeName, namespace: 'kube-node-lease' },
      spec: {
        holderIdentity: this.o.nodeName,
        leaseDurationSeconds: this.o.leaseDurationSeconds,
        renewTime: microTime(this.now()),
      },
    };
  }
}

function describe(body: unknown): string {
  if (typeof body === 'object' && body !== null && 'message' in body)
    return String((body as { message: unknown }).message);
  return String(body).slice(0, 200);
}
