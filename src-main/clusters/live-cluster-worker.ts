/**
 * A LiveCluster run in a worker thread: at 5,000 nodes and 50,000 pods, parsing the lists and
 * watch events is seconds of CPU that would otherwise stall every IPC answer. The main thread
 * only relays the worker's diffs (small) and snapshots, redacting error text on the way (the
 * vault's redactor lives here, not in the worker).
 */
import type { Worker } from 'node:worker_threads';
import type { KubeConfig } from '@kubernetes/client-node';
import type { AlertRules, AlertsSnapshot } from '../ipc/alerts-types.ts';
import type { EventSink } from '../ipc/contract.ts';
import type { ClusterDiff, ClusterSnapshot, ConnectionInfo, ResourceState } from '../ipc/types.ts';
import type { LiveClusterOptions } from './live-cluster.ts';
import type { ToHost, ToWorker } from './live-worker-protocol.ts';
import { startLiveWorker } from './live-worker-spare.ts';

export interface LiveView {
  readonly id: string;
  start(): void;
  stop(): Promise<void>;
  snapshot(): Promise<ClusterSnapshot>;
  connectionInfo(): ConnectionInfo;
  alertsSnapshot(): Promise<AlertsSnapshot>;
  setAlertRules(rules: AlertRules): void;
}

export class LiveClusterWorker implements LiveView {
  readonly id: string;
  private readonly worker: Worker;
  private readonly emit: EventSink;
  private readonly redact: (t: string) => string;
  private readonly waiting = new Map<number, (s: ClusterSnapshot) => void>();
  private readonly waitingAlerts = new Map<number, (s: AlertsSnapshot) => void>();
  private nextReq = 1;
  private connection: ConnectionInfo;
  private stopped: Promise<void> | null = null;
  private failure: Error | null = null;

  /** `worker`: a live-worker thread not yet told its cluster (a WorkerSpare's), else a new one. */
  constructor(
    id: string,
    kc: KubeConfig,
    emit: EventSink,
    options: LiveClusterOptions = {},
    worker: Worker = startLiveWorker(),
  ) {
    this.id = id;
    this.emit = emit;
    this.redact = options.redact ?? ((t) => t);
    this.connection = { state: 'connecting', since: new Date().toISOString() };
    const { redact: _r, now: _n, ...plain } = options;
    this.worker = worker;
    this.post({ type: 'init', id, kubeconfig: kc.exportConfig(), options: plain });
    this.worker.on('message', (m: ToHost) => this.onMessage(m));
    this.worker.on('error', (e) => {
      // A crashed worker must not look like a live cluster: say so, as a connection error.
      this.failure = e;
      this.connection = {
        ...this.connection,
        state: 'unreachable',
        since: new Date().toISOString(),
        lastError: {
          code: 'clusters/live-failed',
          message: this.redact(e.message),
          fix: 'Reopen the cluster.',
        },
      };
      this.emit('cluster:diff', {
        clusterId: id,
        seq: Number.MAX_SAFE_INTEGER,
        at: this.connection.since,
        connection: this.connection,
        resources: {},
      });
    });
  }

  start(): void {}

  stop(): Promise<void> {
    this.stopped ??= new Promise<void>((resolve) => {
      const done = () => void this.worker.terminate().then(() => resolve());
      const timer = setTimeout(done, 5_000);
      this.worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.worker.on('message', (m: ToHost) => {
        if (m.type === 'stopped') {
          clearTimeout(timer);
          done();
        }
      });
      this.post({ type: 'stop' });
    });
    return this.stopped;
  }

  snapshot(): Promise<ClusterSnapshot> {
    if (this.failure) return Promise.reject(this.failure);
    const reqId = this.nextReq++;
    return new Promise((resolve) => {
      this.waiting.set(reqId, resolve);
      this.post({ type: 'snapshot', reqId });
    });
  }

  connectionInfo(): ConnectionInfo {
    return { ...this.connection };
  }

  alertsSnapshot(): Promise<AlertsSnapshot> {
    if (this.failure) return Promise.reject(this.failure);
    const reqId = this.nextReq++;
    return new Promise((resolve) => {
      this.waitingAlerts.set(reqId, resolve);
      this.post({ type: 'alerts', reqId });
    });
  }

  setAlertRules(rules: AlertRules): void {
    this.post({ type: 'alertRules', rules });
  }

  private post(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  private onMessage(m: ToHost): void {
    if (m.type === 'snapshot') {
      const snap = this.redactSnapshot(m.snapshot);
      this.connection = snap.connection;
      this.waiting.get(m.reqId)?.(snap);
      this.waiting.delete(m.reqId);
    } else if (m.type === 'alerts') {
      this.waitingAlerts.get(m.reqId)?.(m.snapshot);
      this.waitingAlerts.delete(m.reqId);
    } else if (m.type === 'event') {
      if (m.channel === 'cluster:diff') {
        const d = this.redactDiff(m.payload as ClusterDiff);
        if (d.connection) this.connection = d.connection;
        this.emit('cluster:diff', d);
      } else this.emit(m.channel, m.payload as never);
    }
  }

  private redactState(s: ResourceState): ResourceState {
    return s.message ? { ...s, message: this.redact(s.message) } : s;
  }

  private redactConnection(c: ConnectionInfo): ConnectionInfo {
    return c.lastError
      ? { ...c, lastError: { ...c.lastError, message: this.redact(c.lastError.message) } }
      : c;
  }

  private redactDiff(d: ClusterDiff): ClusterDiff {
    if (d.connection) d.connection = this.redactConnection(d.connection);
    for (const rd of Object.values(d.resources)) if (rd?.state) rd.state = this.redactState(rd.state);
    return d;
  }

  private redactSnapshot(s: ClusterSnapshot): ClusterSnapshot {
    s.connection = this.redactConnection(s.connection);
    for (const r of Object.values(s.resources)) r.state = this.redactState(r.state);
    return s;
  }
}
