/** The clusters part of the IPC surface: sources plus live clusters keyed by cluster id. */
import type { AlertRules } from '../ipc/alerts-types.ts';
import type { EventSink } from '../ipc/contract.ts';
import type { IpcHandlers } from '../ipc/router.ts';
import type { ClusterSnapshot, ClusterSourceInfo } from '../ipc/types.ts';
import { LiveCluster, type LiveClusterOptions, notWatching } from './live-cluster.ts';
import { LiveClusterWorker, type LiveView } from './live-cluster-worker.ts';
import { WorkerSpare } from './live-worker-spare.ts';
import type { ClusterSources } from './sources.ts';

type ClusterHandlers = Pick<
  IpcHandlers,
  | 'clusters:listSources'
  | 'clusters:import'
  | 'clusters:removeSource'
  | 'clusters:watch'
  | 'clusters:unwatch'
  | 'clusters:snapshot'
>;

export interface ClustersServiceOptions {
  /** How long an unwatched cluster keeps its watches, so switching back and forth is free. */
  unwatchGraceMs?: number;
  /** 'worker' (default): each cluster's list/watch/parse runs in a worker thread; 'inline' for tests. */
  threads?: 'worker' | 'inline';
  /** A source was imported again, removed or stopped: whoever caches its credentials drops them. */
  onSourceChanged?: (sourceId: string) => void;
  /** A cluster's alert thresholds, read when its live state starts (src-main/alerts/service.ts). */
  alertRulesFor?: (clusterId: string) => Promise<AlertRules>;
}

/** The in-thread LiveCluster behind the same interface as the worker. */
class InlineLive implements LiveView {
  readonly id: string;
  private readonly lc: LiveCluster;
  constructor(lc: LiveCluster) {
    this.lc = lc;
    this.id = lc.id;
  }
  start(): void {
    this.lc.start();
  }
  stop(): Promise<void> {
    return this.lc.stop();
  }
  async snapshot(): Promise<ClusterSnapshot> {
    return this.lc.snapshot();
  }
  connectionInfo() {
    return this.lc.connectionInfo();
  }
  async alertsSnapshot() {
    return this.lc.alertsSnapshot();
  }
  setAlertRules(rules: AlertRules): void {
    this.lc.setAlertRules(rules);
  }
}

export class ClustersService {
  private readonly sources: ClusterSources;
  private readonly emit: EventSink;
  private readonly live = new Map<string, LiveView>();
  private readonly liveOptions: LiveClusterOptions;
  private readonly graceMs: number;
  private readonly stopping = new Map<string, NodeJS.Timeout>();
  private readonly threads: 'worker' | 'inline';
  private readonly onSourceChanged: (sourceId: string) => void;
  private readonly alertRulesFor: ((clusterId: string) => Promise<AlertRules>) | undefined;
  /**
   * A worker started ahead of the next open (worker threads only), kept only while no cluster
   * is live: an idle worker with client-node loaded costs main ~60 MB RSS (bench: 346 vs 223 MB
   * at 50 nodes), which the 500 MB budget at 5,000 nodes cannot spare. So the first open is
   * quick, and a switch to another cluster starts its worker cold.
   */
  private readonly spare = new WorkerSpare();
  private closed = false;

  constructor(
    sources: ClusterSources,
    emit: EventSink,
    liveOptions: LiveClusterOptions = {},
    options: ClustersServiceOptions = {},
  ) {
    this.sources = sources;
    this.emit = emit;
    this.liveOptions = liveOptions;
    this.graceMs = options.unwatchGraceMs ?? 30_000;
    this.threads = options.threads ?? 'worker';
    this.onSourceChanged = options.onSourceChanged ?? (() => {});
    this.alertRulesFor = options.alertRulesFor;
    if (this.threads === 'worker') this.spare.warm();
  }

  /** Cluster ids with live watches (for tests and diagnostics). */
  watching(): string[] {
    return [...this.live.keys()];
  }

  listSources(): Promise<ClusterSourceInfo[]> {
    return this.sources.list();
  }

  async importFile(path: string, name?: string): Promise<ClusterSourceInfo> {
    const info = await this.sources.importFile(path, name);
    this.onSourceChanged(info.id);
    return info;
  }

  async removeSource(sourceId: string): Promise<void> {
    for (const [id, lc] of this.live) {
      if (id.startsWith(`${sourceId}/`)) {
        await lc.stop();
        this.live.delete(id);
      }
    }
    await this.sources.remove(sourceId);
    this.onSourceChanged(sourceId);
  }

  /** Starts (or joins) live state for a cluster and returns its current snapshot. */
  async watch(clusterId: string): Promise<ClusterSnapshot> {
    clearTimeout(this.stopping.get(clusterId));
    this.stopping.delete(clusterId);
    let lc = this.live.get(clusterId);
    if (!lc) {
      const kc = await this.sources.kubeConfigFor(clusterId);
      const alertRules = await this.alertRulesFor?.(clusterId);
      // Another watch() may have started it while the rules were read.
      const raced = this.live.get(clusterId);
      if (raced) return this.joined(raced);
      const opts = alertRules ? { ...this.liveOptions, alertRules } : this.liveOptions;
      lc =
        this.threads === 'worker'
          ? new LiveClusterWorker(clusterId, kc, this.emit, opts, this.spare.take())
          : new InlineLive(new LiveCluster(clusterId, kc, this.emit, opts));
      this.live.set(clusterId, lc);
      lc.start();
    }
    return this.joined(lc);
  }

  private async joined(lc: LiveView): Promise<ClusterSnapshot> {
    const snap = await lc.snapshot();
    this.emit('cluster:snapshot', snap);
    return snap;
  }

  /** Stops a cluster's watches after the grace period, unless it is watched again meanwhile. */
  async unwatch(clusterId: string): Promise<void> {
    if (!this.live.has(clusterId) || this.stopping.has(clusterId)) return;
    const timer = setTimeout(() => void this.stopNow(clusterId), this.graceMs);
    timer.unref();
    this.stopping.set(clusterId, timer);
  }

  private async stopNow(clusterId: string): Promise<void> {
    clearTimeout(this.stopping.get(clusterId));
    this.stopping.delete(clusterId);
    const lc = this.live.get(clusterId);
    this.live.delete(clusterId);
    await lc?.stop();
    if (this.threads === 'worker' && this.live.size === 0 && !this.closed) this.spare.warm();
  }

  async snapshot(clusterId: string): Promise<ClusterSnapshot> {
    const lc = this.live.get(clusterId);
    if (!lc) throw notWatching(clusterId);
    return lc.snapshot();
  }

  liveCluster(clusterId: string): LiveView | undefined {
    return this.live.get(clusterId);
  }

  /** Stops the live clusters of one source at once (e.g. the demo's, before its API server goes away). */
  async stopSource(sourceId: string): Promise<void> {
    const ids = [...this.live.keys()].filter((id) => id.startsWith(`${sourceId}/`));
    await Promise.all(ids.map((id) => this.stopNow(id)));
    this.onSourceChanged(sourceId);
  }

  async stopAll(): Promise<void> {
    this.closed = true;
    await this.spare.close();
    for (const t of this.stopping.values()) clearTimeout(t);
    this.stopping.clear();
    const all = [...this.live.values()];
    this.live.clear();
    await Promise.all(all.map((lc) => lc.stop()));
  }

  handlers(): ClusterHandlers {
    return {
      'clusters:listSources': () => this.listSources(),
      'clusters:import': ({ path, name }) => this.importFile(path, name),
      'clusters:removeSource': async ({ sourceId }) => {
        await this.removeSource(sourceId);
        return null;
      },
      'clusters:watch': ({ clusterId }) => this.watch(clusterId),
      'clusters:unwatch': async ({ clusterId }) => {
        await this.unwatch(clusterId);
        return null;
      },
      'clusters:snapshot': ({ clusterId }) => this.snapshot(clusterId),
    };
  }
}
