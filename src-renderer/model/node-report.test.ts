import { describe, expect, test } from 'vitest';
import { ANNOTATION_NODE_REPORT, type NodeReport } from '../../src-main/ipc/edge-api.ts';
import type { NodeWire } from '../../src-main/ipc/types.ts';
import { bytesText, durationText, nodeReportOf, reportSummary } from './node-report.ts';

const NOW = Date.parse('2026-12-03T12:00:00Z');
const GiB = 1024 ** 3;

function report(over: Partial<NodeReport> = {}): NodeReport {
  return {
    v: 1,
    at: '2026-12-03T11:55:00Z',
    agentVersion: '0.2.0',
    cache: { bytes: 40 << 20, health: 'Ready' },
    disk: { freeBytes: 50 * GiB, totalBytes: 100 * GiB },
    journal: { depth: 0, bound: 5000, dropped: 0 },
    offlineSeconds24h: 0,
    certNotAfter: '2027-12-01T00:00:00Z',
    tunnel: 'connected',
    ...over,
  };
}

const node = (annotation?: string): NodeWire =>
  ({
    name: 'n1',
    conditions: [],
    ...(annotation === undefined ? {} : { annotations: { [ANNOTATION_NODE_REPORT]: annotation } }),
  }) as unknown as NodeWire;

describe('node report in the views', () => {
  test('parsed once per node object', () => {
    const n = node(JSON.stringify(report()));
    const a = nodeReportOf(n);
    expect(a.kind).toBe('report');
    expect(nodeReportOf(n)).toBe(a);
    expect(nodeReportOf(node(JSON.stringify(report())))).not.toBe(a);
  });

  test('absent, unreadable, ok, and each problem the overview flags', () => {
    expect(reportSummary(node(), NOW)).toEqual({ text: '—', level: 'none' });
    expect(reportSummary(node('{oops'), NOW)).toEqual({ text: 'unreadable report', level: 'bad' });
    expect(nodeReportOf(node('{"v":2}'))).toEqual({
      kind: 'invalid',
      error: 'edgefleet.io/node-report has version 2; this app reads 1',
    });
    expect(reportSummary(node(JSON.stringify(report())), NOW)).toEqual({ text: 'ok', level: 'ok' });
    const bad = (o: Partial<NodeReport>) => reportSummary(node(JSON.stringify(report(o))), NOW).text;
    expect(bad({ cache: { bytes: 1, health: 'CacheOverQuota' } })).toBe('cache CacheOverQuota');
    expect(bad({ disk: { freeBytes: 9 * GiB, totalBytes: 100 * GiB } })).toBe('disk 9 % free');
    expect(bad({ certNotAfter: '2026-12-08T00:00:00Z' })).toBe('certificate expires in 4 d');
    expect(bad({ certNotAfter: '2026-12-01T00:00:00Z' })).toBe('certificate expired');
    expect(bad({ tunnel: 'disconnected' })).toBe('tunnel disconnected');
    expect(bad({ tunnel: 'not-installed' })).toBe('ok');
    expect(bad({ journal: { depth: 4600, bound: 5000, dropped: 0 } })).toBe('journal near its bound');
    expect(bad({ at: '2026-12-03T11:00:00Z' })).toBe('report stale');
  });

  test('figures as people read them', () => {
    expect(bytesText(512)).toBe('512 B');
    expect(bytesText(1536)).toBe('1.5 KiB');
    expect(bytesText(300 * 1024 * 1024)).toBe('300 MiB');
    expect(durationText(42)).toBe('42 s');
    expect(durationText(5400)).toBe('1 h 30 min');
    expect(durationText(7200)).toBe('2 h');
  });
});
