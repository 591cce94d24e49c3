import { expect, test } from 'vitest';
import { type NodeReport, parseNodeReport } from './node-report.ts';

const report: NodeReport = {
  v: 1,
  at: '2026-12-03T12:00:00Z',
  agentVersion: '0.1.0',
  cache: { bytes: 1024, health: 'Ready' },
  disk: { freeBytes: 10, totalBytes: 100 },
  journal: { depth: 0, bound: 1000, dropped: 0 },
  offlineSeconds24h: 0,
  certNotAfter: '2027-12-03T12:00:00Z',
  tunnel: 'connected',
};

test('reads a report as written', () => {
  expect(parseNodeReport(JSON.stringify(report))).toEqual(report);
  expect(parseNodeReport(undefined)).toBeUndefined();
});

// Found by the bad-input soak: any string was taken as the time, so a report could never look stale.
test('a report whose times do not parse is an error value, not a report', () => {
  for (const bad of [{ at: 'yesterday' }, { certNotAfter: 'soon' }, { at: '' }]) {
    const got = parseNodeReport(JSON.stringify({ ...report, ...bad }));
    expect(got, JSON.stringify(bad)).toEqual({ error: expect.stringContaining('edgefleet.io/node-report') });
  }
});

test('an unknown version is named briefly, whatever it holds', () => {
  const got = parseNodeReport(JSON.stringify({ ...report, v: 'x'.repeat(10_000) }));
  expect(got && 'error' in got && got.error.length).toBeLessThan(120);
  expect(parseNodeReport('{"v":2}')).toEqual({
    error: 'edgefleet.io/node-report has version 2; this app reads 1',
  });
});
