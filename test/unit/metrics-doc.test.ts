import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { conventionProblems, DOC_PATH, ROLE_CATALOGS, renderMetricsDoc } from '../../scripts/metrics-doc.ts';
import { metric, Registry } from '../../src-agent/metrics/registry.ts';

describe('docs/metrics.md', () => {
  it('is what scripts/metrics-doc.ts generates from the catalogs', () => {
    // On failure: node --experimental-strip-types scripts/metrics-doc.ts
    expect(readFileSync(DOC_PATH, 'utf8')).toBe(renderMetricsDoc());
  });

  it('lists every metric of every role once', () => {
    const doc = readFileSync(DOC_PATH, 'utf8');
    const names = ROLE_CATALOGS.flatMap((r) => Object.values(r.catalog).map((d) => d.name));
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(doc).toContain(`| \`${n}\` |`);
  });
});

describe('metric naming rules', () => {
  it('hold for every metric of every role', () => {
    const problems = ROLE_CATALOGS.flatMap(({ prefix, catalog }) =>
      Object.values(catalog).flatMap((d) => conventionProblems(d, prefix).map((p) => `${d.name}: ${p}`)),
    );
    expect(problems).toEqual([]);
  });

  it('catch a missing HELP, a counter without _total, a missing or non-base unit and a wrong prefix', () => {
    const hub = 'edgefleet_hub_';
    const def = (name: string, type: 'counter' | 'gauge' | 'histogram', help: string, buckets?: number[]) =>
      metric({ name, type, help, labels: [], ...(buckets ? { buckets } : {}) });
    expect(conventionProblems(def('edgefleet_hub_things_total', 'counter', ''), hub)).toContain(
      'HELP is empty',
    );
    expect(conventionProblems(def('edgefleet_hub_things', 'counter', 'Things.'), hub)).toContain(
      'a counter must end in _total',
    );
    expect(conventionProblems(def('edgefleet_hub_latency_ms', 'gauge', 'Latency.'), hub).join()).toMatch(
      /base units/,
    );
    expect(
      conventionProblems(def('edgefleet_hub_request_duration', 'histogram', 'Time spent.', [1]), hub),
    ).toContain('a histogram must carry its unit');
    expect(
      conventionProblems(def('edgefleet_hub_uplink_total', 'counter', 'Bytes sent upstream.'), hub),
    ).toContain('measures bytes: the name must end in _bytes (or _bytes_total)');
    expect(
      conventionProblems(def('edgefleet_hub_offline_total', 'counter', 'Seconds offline.'), hub),
    ).toContain('measures time: the name must end in _seconds (or _seconds_total)');
    expect(conventionProblems(def('edgefleet_cache_bytes', 'gauge', 'Bytes cached.'), hub)).toContain(
      'name must start with edgefleet_hub_',
    );
    expect(conventionProblems(def('edgefleet_hub_cache_bytes', 'gauge', 'Bytes cached.'), hub)).toEqual([]);
  });
});

describe('Registry', () => {
  it('refuses a metric that is not in its catalogs, so the docs cannot miss one', () => {
    const known = metric({ name: 'edgefleet_hub_a_total', type: 'counter', help: 'A.', labels: [] });
    const stray = metric({ name: 'edgefleet_hub_b_total', type: 'counter', help: 'B.', labels: [] });
    const r = new Registry({ known });
    r.counter(known);
    expect(() => r.counter(stray)).toThrow(/not in this registry's catalogs/);
  });

  it('renders HELP and TYPE once per family, labelled samples from several collectors, and escapes values', async () => {
    const depth = metric({
      name: 'edgefleet_controller_workqueue_depth',
      type: 'gauge',
      help: 'Depth.',
      labels: ['controller'],
    });
    const r = new Registry({ depth });
    r.collect(depth, () => [[{ controller: 'a"b' }, 2]]);
    r.collect(depth, () => [[{ controller: 'c' }, 0]]);
    expect(await r.render()).toBe(
      [
        '# HELP edgefleet_controller_workqueue_depth Depth.',
        '# TYPE edgefleet_controller_workqueue_depth gauge',
        'edgefleet_controller_workqueue_depth{controller="a\\"b"} 2',
        'edgefleet_controller_workqueue_depth{controller="c"} 0',
        '',
      ].join('\n'),
    );
  });
});
