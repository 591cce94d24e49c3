/**
 * Runs a level-triggered reconciler: workers take keys from the queue and call reconcile(key),
 * which reads desired and actual state itself. Errors requeue the key with exponential backoff;
 * a result may ask for a timed re-check (e.g. while waiting for a rollout).
 */
import { CONTROLLER_METRICS, type Metrics } from './metrics.ts';
import { WorkQueue } from './workqueue.ts';

export interface ReconcileResult {
  requeueAfterMs?: number;
}

export type Reconcile = (key: string) => Promise<ReconcileResult | undefined>;

export interface Log {
  info(msg: string): void;
  error(msg: string): void;
}

export const consoleLog: Log = {
  info: (m) => console.log(`${new Date().toISOString()} ${m}`),
  error: (m) => console.error(`${new Date().toISOString()} ERROR ${m}`),
};

/** Past this many distinct keys the per-key counts start over, so they cannot grow without bound. */
const MAX_COUNTED_KEYS = 100_000;

export class ControllerRunner {
  readonly name: string;
  readonly queue: WorkQueue;
  /** Finished reconciles per key: the evidence a test waits for before asserting nothing changed. */
  private readonly counts = new Map<string, number>();
  private readonly reconcile: Reconcile;
  private readonly metrics: Metrics;
  private readonly log: Log;

  constructor(name: string, reconcile: Reconcile, metrics: Metrics, log: Log = consoleLog) {
    this.name = name;
    this.reconcile = reconcile;
    this.metrics = metrics;
    this.log = log;
    this.queue = new WorkQueue();
    metrics.registry.collect(CONTROLLER_METRICS.workqueueDepth, () => [
      [{ controller: name }, this.queue.length],
    ]);
  }

  /** How many reconciles of `key` have finished (successful or not) since start. */
  reconciles(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /** Resolves once `key` has finished more than `after` reconciles (a key is never handled twice at once). */
  async reconciled(key: string, after: number, timeoutMs = 10_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.reconciles(key) <= after) {
      if (performance.now() > deadline) {
        throw new Error(`${this.name} ${key}: no reconcile after #${after} within ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Runs `workers` loops until the queue shuts down. */
  async run(workers: number): Promise<void> {
    await Promise.all(Array.from({ length: workers }, () => this.worker()));
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const start = performance.now();
      let outcome = 'success';
      try {
        const res = await this.reconcile(key);
        this.queue.forget(key);
        if (res?.requeueAfterMs !== undefined) this.queue.addAfter(key, res.requeueAfterMs);
      } catch (e) {
        outcome = 'error';
        const delay = this.queue.addRateLimited(key);
        this.log.error(`${this.name} ${key}: ${(e as Error).message ?? String(e)} (retry in ${delay} ms)`);
      } finally {
        // Counted before done(): once done() hands the key to the next worker, this one is over.
        if (this.counts.size >= MAX_COUNTED_KEYS && !this.counts.has(key)) this.counts.clear();
        this.counts.set(key, this.reconciles(key) + 1);
        this.queue.done(key);
        const labels = { controller: this.name, result: outcome };
        this.metrics.reconciles.inc(labels);
        this.metrics.reconcileDuration.observe({ controller: this.name }, (performance.now() - start) / 1000);
      }
    }
  }
}
