/**
 * The node report: what a hub knows about its node that the API server does not, published as
 * one Node annotation so the app (and anyone with `kubectl get node -o yaml`) reads it without
 * SSH, also for nodes the cloud cannot dial. One shape, written by the hub and read by the app's
 * views and alert rules.
 *
 * Cost: the hub writes only when `reportChanged` says a figure moved beyond its threshold, at
 * most once per REPORT_MIN_INTERVAL_MS, and at least once per REPORT_MAX_INTERVAL_MS so a reader
 * can tell a fresh report from a stale one. Written by src-agent/hub/node-report.ts (NodeReporter).
 */

/** Node annotation holding the JSON of a NodeReport. */
export const ANNOTATION_NODE_REPORT = 'edgefleet.io/node-report';

export const NODE_REPORT_VERSION = 1;
/** Never more than one write a minute per node. */
export const REPORT_MIN_INTERVAL_MS = 60_000;
/** A report older than this (plus the time the link was down) is stale. */
export const REPORT_MAX_INTERVAL_MS = 30 * 60_000;

export type TunnelState = 'connected' | 'disconnected' | 'not-installed';

export interface NodeReport {
  v: typeof NODE_REPORT_VERSION;
  /** When the hub wrote it (RFC 3339). */
  at: string;
  agentVersion: string;
  cache: {
    bytes: number;
    /**
     * The hub's storage condition reason: 'Ready' when healthy; 'CacheOverQuota' when healthy but
     * past `quotaBytes` (hub config cacheQuotaBytes, a reporting threshold the hub does not enforce).
     */
    health: string;
    message?: string;
    /** The cache's quota, when one is set. */
    quotaBytes?: number;
  };
  disk: { freeBytes: number; totalBytes: number };
  journal: { depth: number; bound: number; dropped: number };
  /** Seconds the cloud link was down in the last 24 h. */
  offlineSeconds24h: number;
  /** The hub's client certificate's notAfter (RFC 3339), when it has one. */
  certNotAfter?: string;
  tunnel: TunnelState;
}

const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;
const isStr = (x: unknown): x is string => typeof x === 'string';
/** A time a reader can compare: a report whose `at` does not parse could never look stale. */
const isTime = (x: unknown): x is string => isStr(x) && Number.isFinite(Date.parse(x));
const obj = (x: unknown): Record<string, unknown> | undefined =>
  x && typeof x === 'object' && !Array.isArray(x) ? (x as Record<string, unknown>) : undefined;

/**
 * The report in an annotation value, or an error naming what is wrong with it (a hand-edited or
 * newer-version annotation must not break a view).
 */
export function parseNodeReport(text: string | undefined): NodeReport | { error: string } | undefined {
  if (text === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { error: `${ANNOTATION_NODE_REPORT} is not JSON` };
  }
  const r = obj(raw);
  if (!r) return { error: `${ANNOTATION_NODE_REPORT} is not an object` };
  if (r.v !== NODE_REPORT_VERSION)
    return {
      error: `${ANNOTATION_NODE_REPORT} has version ${String(JSON.stringify(r.v) ?? 'none').slice(0, 20)}; this app reads ${NODE_REPORT_VERSION}`,
    };
  const cache = obj(r.cache);
  const disk = obj(r.disk);
  const journal = obj(r.journal);
  const ok =
    isTime(r.at) &&
    isStr(r.agentVersion) &&
    cache &&
    isNum(cache.bytes) &&
    isStr(cache.health) &&
    (cache.message === undefined || isStr(cache.message)) &&
    (cache.quotaBytes === undefined || isNum(cache.quotaBytes)) &&
    disk &&
    isNum(disk.freeBytes) &&
    isNum(disk.totalBytes) &&
    journal &&
    isNum(journal.depth) &&
    isNum(journal.bound) &&
    isNum(journal.dropped) &&
    isNum(r.offlineSeconds24h) &&
    (r.certNotAfter === undefined || isTime(r.certNotAfter)) &&
    (r.tunnel === 'connected' || r.tunnel === 'disconnected' || r.tunnel === 'not-installed');
  if (!ok) return { error: `${ANNOTATION_NODE_REPORT} is missing fields or has wrong types` };
  return raw as NodeReport;
}

/** Moved by more than `frac` of `scale` (or crossed zero). */
function moved(a: number, b: number, scale: number, frac: number): boolean {
  return Math.abs(a - b) > Math.max(1, scale * frac);
}

/**
 * Whether `next` differs from the last written report enough to be worth an API write: a state
 * change always is; a figure is when it moved by 10 % of its scale (cache size, journal depth,
 * free disk as a share of the disk) or by a minute of offline time.
 */
export function reportChanged(last: NodeReport | undefined, next: NodeReport): boolean {
  if (!last) return true;
  return (
    last.agentVersion !== next.agentVersion ||
    last.cache.health !== next.cache.health ||
    last.cache.quotaBytes !== next.cache.quotaBytes ||
    last.tunnel !== next.tunnel ||
    last.certNotAfter !== next.certNotAfter ||
    last.journal.dropped !== next.journal.dropped ||
    moved(
      last.cache.bytes,
      next.cache.bytes,
      next.cache.quotaBytes ?? Math.max(last.cache.bytes, 1 << 20),
      0.1,
    ) ||
    moved(last.journal.depth, next.journal.depth, next.journal.bound, 0.1) ||
    moved(last.disk.freeBytes, next.disk.freeBytes, next.disk.totalBytes, 0.05) ||
    Math.abs(last.offlineSeconds24h - next.offlineSeconds24h) >= 60
  );
}

/** Where a report's figures become a problem; the in-app alert rules start from these and may move them per cluster. */
export interface ReportLimits {
  /** Free disk (or cache quota) below this percentage. */
  diskFreePct: number;
  /** Certificate expiring within this many days. */
  certDays: number;
  /** Journal at or above this percentage of its bound: about to drop events. */
  journalUsedPct: number;
}

export const REPORT_LIMITS: ReportLimits = { diskFreePct: 10, certDays: 7, journalUsedPct: 80 };
/** Free disk below this share of the disk is a problem. */
export const REPORT_DISK_LOW_FRACTION = REPORT_LIMITS.diskFreePct / 100;
/** A client certificate expiring within this many days is a problem. */
export const REPORT_CERT_WARN_DAYS = REPORT_LIMITS.certDays;

/** One thing wrong according to a report, with the figures an alert's text needs. */
export type ReportFinding =
  | { kind: 'cert'; notAfter: number; expired: boolean }
  | { kind: 'cache'; health: string; message?: string }
  | { kind: 'disk'; diskFreePct?: number; quotaUsedPct?: number }
  | { kind: 'journal'; usedPct: number }
  | { kind: 'tunnel' };

/**
 * What is wrong according to a report. One rule for the views (the node table's Hub column, the
 * node page) and the in-app alerts, which pass their per-cluster limits.
 */
export function reportFindings(
  r: NodeReport,
  now: number,
  limits: ReportLimits = REPORT_LIMITS,
): ReportFinding[] {
  const out: ReportFinding[] = [];
  const notAfter = r.certNotAfter === undefined ? Number.NaN : Date.parse(r.certNotAfter);
  if (Number.isFinite(notAfter) && notAfter - now < limits.certDays * 86_400_000)
    out.push({ kind: 'cert', notAfter, expired: notAfter <= now });
  // CacheResyncing is the hub re-reading after a disk came back: healthy, only busy.
  if (r.cache.health !== 'Ready' && r.cache.health !== 'CacheResyncing')
    out.push({
      kind: 'cache',
      health: r.cache.health,
      ...(r.cache.message ? { message: r.cache.message } : {}),
    });
  const diskFree = r.disk.totalBytes > 0 ? (100 * r.disk.freeBytes) / r.disk.totalBytes : undefined;
  const quota = r.cache.quotaBytes;
  const quotaUsed = quota && quota > 0 ? (100 * Math.min(quota, r.cache.bytes)) / quota : undefined;
  const diskLow = diskFree !== undefined && diskFree < limits.diskFreePct;
  const quotaLow = quotaUsed !== undefined && 100 - quotaUsed < limits.diskFreePct;
  if (diskLow || quotaLow)
    out.push({
      kind: 'disk',
      ...(diskLow ? { diskFreePct: diskFree } : {}),
      ...(quotaLow ? { quotaUsedPct: quotaUsed } : {}),
    });
  if (r.journal.bound > 0) {
    const usedPct = (100 * r.journal.depth) / r.journal.bound;
    if (usedPct >= limits.journalUsedPct) out.push({ kind: 'journal', usedPct });
  }
  if (r.tunnel === 'disconnected') out.push({ kind: 'tunnel' });
  return out;
}

/** A finding as a short phrase, for a badge or a tooltip. */
export function findingText(f: ReportFinding, now: number): string {
  switch (f.kind) {
    case 'cert':
      return f.expired
        ? 'certificate expired'
        : `certificate expires in ${Math.floor((f.notAfter - now) / 86_400_000)} d`;
    case 'cache':
      return `cache ${f.health}`;
    case 'disk':
      return f.diskFreePct !== undefined
        ? `disk ${Math.round(f.diskFreePct)} % free`
        : `cache quota ${Math.round(f.quotaUsedPct ?? 100)} % used`;
    case 'journal':
      return 'journal near its bound';
    case 'tunnel':
      return 'tunnel disconnected';
  }
}

/** What is wrong according to a report, each as a short phrase; empty when nothing is. */
export function reportProblems(r: NodeReport, now: number): string[] {
  return reportFindings(r, now).map((f) => findingText(f, now));
}
