import {
  ANNOTATION_NODE_REPORT,
  NODE_REPORT_VERSION,
  type NodeReport,
  parseNodeReport,
  REPORT_MAX_INTERVAL_MS,
  REPORT_MIN_INTERVAL_MS,
  reportChanged,
  type TunnelState,
} from '../api/node-report.ts';
import type { CertManager } from './cert-manager.ts';
import type { HealthChecker } from './health-checker.ts';
import type { Journal } from './journal.ts';
import type { Logger } from './log.ts';
import { OfflineWindow } from './offline-window.ts';
import type { Storage, StorageCondition } from './storage.ts';
import { probeTunnel, type TunnelProbeTarget } from './tunnel-state.ts';
import type { Upstream } from './upstream.ts';

/** Reason the report gives for a healthy cache that has grown past its quota. */
export const CACHE_OVER_QUOTA = 'CacheOverQuota';

/** Where the reporter reads each figure; all of it is state the hub already keeps. */
export interface NodeReportSources {
  agentVersion: string;
  cacheBytes(): Promise<number>;
  cacheCondition(): StorageCondition;
  /** hub config cacheQuotaBytes, when set. */
  quotaBytes?: number;
  disk(): Promise<{ freeBytes: number; totalBytes: number }>;
  journal(): { depth: number; bound: number; dropped: number };
  offlineSeconds24h(now: number): number;
  /** The client certificate's notAfter in ms since the epoch; 0 when none is loaded. */
  certNotAfter(): number;
  tunnel(): Promise<TunnelState>;
  cloudHealthy(): boolean;
  /** The annotation as the cloud has it now (the hub's view of its own Node), if seen. */
  published(): string | undefined;
}

export interface NodeReporterOptions {
  minIntervalMs?: number;
  maxIntervalMs?: number;
  now?: () => number;
}

/** What one tick did, for tests and logs. */
export type ReportOutcome =
  | 'written'
  | 'unchanged'
  /** Changed, but the last write was less than the floor ago; a later tick writes it. */
  | 'too-soon'
  /** Changed while the cloud is unreachable; written on the first tick after it is back. */
  | 'queued'
  | 'failed';

const seconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/** Builds the report from the sources and states a cache past its quota as unhealthy. */
export async function gatherReport(s: NodeReportSources, now: number): Promise<NodeReport> {
  const [bytes, disk, tunnel] = await Promise.all([s.cacheBytes(), s.disk(), s.tunnel()]);
  const cond = s.cacheCondition();
  const over = s.quotaBytes !== undefined && bytes > s.quotaBytes && cond.reason === 'Ready';
  const notAfter = s.certNotAfter();
  return {
    v: NODE_REPORT_VERSION,
    at: seconds(now),
    agentVersion: s.agentVersion,
    cache: {
      bytes,
      health: over ? CACHE_OVER_QUOTA : cond.reason,
      ...(over
        ? { message: `cache is ${bytes} bytes, over its quota of ${s.quotaBytes} bytes (cacheQuotaBytes)` }
        : cond.reason === 'Ready'
          ? {}
          : { message: cond.message }),
      ...(s.quotaBytes === undefined ? {} : { quotaBytes: s.quotaBytes }),
    },
    disk,
    journal: s.journal(),
    offlineSeconds24h: s.offlineSeconds24h(now),
    ...(notAfter > 0 ? { certNotAfter: seconds(notAfter) } : {}),
    tunnel,
  };
}

/**
 * Publishes the node report as the `edgefleet.io/node-report` annotation on the hub's own Node
 * (a JSON merge patch with the node's credentials, which the Node authorizer and NodeRestriction
 * allow for a node's own object). A write happens only when `reportChanged` says so or the last
 * one is REPORT_MAX_INTERVAL_MS old, never sooner than REPORT_MIN_INTERVAL_MS after the previous,
 * and only while the cloud is healthy: a change seen offline is written on the first tick after.
 */
export class NodeReporter {
  private readonly upstream: Pick<Upstream, 'jsonRaw'>;
  private readonly path: string;
  private readonly sources: NodeReportSources;
  private readonly log: Logger;
  private readonly minMs: number;
  private readonly maxMs: number;
  private readonly now: () => number;
  private last: NodeReport | undefined;
  private lastAt = Number.NEGATIVE_INFINITY;
  private running: Promise<ReportOutcome> | undefined;
  private adopted = false;
  /** Successful annotation writes and the bytes of their patch bodies (the hub's metrics). */
  writes = 0;
  bytes = 0;
  failures = 0;
  lastOutcome: ReportOutcome | undefined;

  constructor(
    upstream: Pick<Upstream, 'jsonRaw'>,
    nodeName: string,
    sources: NodeReportSources,
    log: Logger,
    opts: NodeReporterOptions = {},
  ) {
    this.upstream = upstream;
    this.path = `/api/v1/nodes/${encodeURIComponent(nodeName)}`;
    this.sources = sources;
    this.log = log;
    this.minMs = opts.minIntervalMs ?? REPORT_MIN_INTERVAL_MS;
    this.maxMs = opts.maxIntervalMs ?? REPORT_MAX_INTERVAL_MS;
    this.now = opts.now ?? Date.now;
  }

  /** The report as last written (undefined before the first write). */
  get written(): NodeReport | undefined {
    return this.last;
  }

  /** When the last write (or the adopted report) was made, ms since the epoch; -Infinity before. */
  get lastWriteAt(): number {
    return this.lastAt;
  }

  /** Gathers the figures and writes them if due; overlapping calls share the tick in flight. */
  tick(): Promise<ReportOutcome> {
    this.running ??= this.run()
      .then((o) => {
        this.lastOutcome = o;
        return o;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  /**
   * After a restart the Node still carries the report the hub wrote before: taken as the last
   * write (with its own time), so a restart that changed nothing costs no write.
   */
  private adopt(): void {
    if (this.adopted) return;
    const text = this.sources.published();
    if (text === undefined) return;
    this.adopted = true;
    const r = parseNodeReport(text);
    if (!r || 'error' in r) return;
    const at = Date.parse(r.at);
    if (Number.isFinite(at) && at <= this.now()) {
      this.last = r;
      this.lastAt = at;
    }
  }

  private async run(): Promise<ReportOutcome> {
    if (!this.last) this.adopt();
    const now = this.now();
    let next: NodeReport;
    try {
      next = await gatherReport(this.sources, now);
    } catch (err) {
      this.log.warn('node_report.gather_failed', { error: (err as Error).message });
      return 'failed';
    }
    const due = reportChanged(this.last, next) || now - this.lastAt >= this.maxMs;
    if (!due) return 'unchanged';
    if (!this.sources.cloudHealthy()) return 'queued';
    if (now - this.lastAt < this.minMs) return 'too-soon';
    const body = JSON.stringify({
      metadata: { annotations: { [ANNOTATION_NODE_REPORT]: JSON.stringify(next) } },
    });
    try {
      const res = await this.upstream.jsonRaw('PATCH', this.path, body, 'application/merge-patch+json');
      if (res.status !== 200) throw new Error(`answered ${res.status}: ${describe(res.body)}`);
    } catch (err) {
      this.failures++;
      this.log.warn('node_report.patch_failed', {
        error: (err as Error).message,
        fix: 'the hub writes its own Node with its node certificate (system:node:<name>); check the Node authorizer and NodeRestriction are on and the certificate names this node',
      });
      return 'failed';
    }
    this.writes++;
    this.bytes += Buffer.byteLength(body);
    this.last = next;
    this.lastAt = now;
    this.log.info('node_report.written', { bytes: Buffer.byteLength(body), cacheHealth: next.cache.health });
    return 'written';
  }
}

function describe(body: unknown): string {
  if (typeof body === 'object' && body !== null && 'message' in body)
    return String((body as { message: unknown }).message);
  return String(body).slice(0, 200);
}

/** The parts of the hub the report reads (hub.ts wires them; nothing here writes to them). */
export interface HubReportParts {
  agentVersion: string;
  quotaBytes: number | undefined;
  journalBound: number;
  storage: Pick<Storage, 'bytes' | 'status' | 'disk'>;
  journal: Pick<Journal, 'size' | 'dropped'>;
  health: Pick<HealthChecker, 'isHealthy' | 'onChange'>;
  certs: Pick<CertManager, 'notAfter'>;
  ownNodeAnnotations(): Record<string, string> | undefined;
  tunnel: TunnelProbeTarget;
}

/** The report's sources from the hub's own state; the 24-h offline figure follows the health checker. */
export function hubReportSources(p: HubReportParts): NodeReportSources {
  const offline = new OfflineWindow(Date.now());
  p.health.onChange((healthy) => offline.set(healthy, Date.now()));
  return {
    agentVersion: p.agentVersion,
    cacheBytes: () => p.storage.bytes(),
    cacheCondition: () => p.storage.status,
    ...(p.quotaBytes === undefined ? {} : { quotaBytes: p.quotaBytes }),
    disk: () => p.storage.disk(),
    journal: () => ({ depth: p.journal.size, bound: p.journalBound, dropped: p.journal.dropped }),
    offlineSeconds24h: (now) => offline.seconds(now),
    certNotAfter: () => p.certs.notAfter,
    tunnel: () => probeTunnel(p.tunnel),
    cloudHealthy: () => p.health.isHealthy(),
    published: () => p.ownNodeAnnotations()?.[ANNOTATION_NODE_REPORT],
  };
}
