/**
 * The hub's node report as the views read it: parsed once per node object (a node's wire object
 * is replaced when anything on it changes, so a WeakMap keyed by it parses each version once and
 * forgets it with the node), and the problems it states by the contract's one rule.
 */
import {
  ANNOTATION_NODE_REPORT,
  type NodeReport,
  parseNodeReport,
  REPORT_MAX_INTERVAL_MS,
  reportProblems,
} from '../../src-main/ipc/edge-api.ts';
import type { NodeWire } from '../../src-main/ipc/types.ts';

export type NodeReportView =
  | { kind: 'absent' }
  | { kind: 'invalid'; error: string }
  | { kind: 'report'; report: NodeReport };

const parsed = new WeakMap<NodeWire, NodeReportView>();

export function nodeReportOf(n: NodeWire): NodeReportView {
  let v = parsed.get(n);
  if (!v) {
    const r = parseNodeReport(n.annotations?.[ANNOTATION_NODE_REPORT]);
    v = !r
      ? { kind: 'absent' }
      : 'error' in r
        ? { kind: 'invalid', error: r.error }
        : { kind: 'report', report: r };
    parsed.set(n, v);
  }
  return v;
}

/**
 * The hub refreshes its report at least every REPORT_MAX_INTERVAL_MS while it reaches the cloud;
 * an older one is stale (the node is cut off, or its hub stopped). A few minutes of grace.
 */
export function reportStale(r: NodeReport, now: number): boolean {
  return now - Date.parse(r.at) > REPORT_MAX_INTERVAL_MS + 5 * 60_000;
}

/** What the node table shows in its Hub column: problems first, then staleness. */
export function reportSummary(n: NodeWire, now: number): { text: string; level: 'ok' | 'bad' | 'none' } {
  const v = nodeReportOf(n);
  if (v.kind === 'absent') return { text: '—', level: 'none' };
  if (v.kind === 'invalid') return { text: 'unreadable report', level: 'bad' };
  const problems = reportProblems(v.report, now);
  if (problems.length > 0) return { text: problems.join(', '), level: 'bad' };
  if (reportStale(v.report, now)) return { text: 'report stale', level: 'bad' };
  return { text: 'ok', level: 'ok' };
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 → "1.5 KiB". */
export function bytesText(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${UNITS[u]}`;
}

/** 5400 → "1 h 30 min"; 42 → "42 s". */
export function durationText(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const m = Math.round(seconds / 60);
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ''}`;
}
