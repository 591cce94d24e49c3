import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROLE_CATALOGS } from '../../scripts/metrics-doc.ts';
import {
  PROMETHEUS_RULE_PATH,
  RULES_PATH,
  readRules,
  renderPrometheusRule,
} from '../../scripts/monitoring-rules.ts';
import { promtool, promtoolVersion } from '../lab/metrics-support.ts';

const REPO = join(import.meta.dirname, '../..');
const RULES_TEST = join(REPO, 'test/monitoring/edgefleet-rules.test.yaml');
const SCRAPE_EXAMPLE = join(REPO, 'resources/monitoring/prometheus-scrape-example.yaml');

const ruleCount = () => readRules().groups.reduce((n, g) => n + g.rules.length, 0);

const version = await promtoolVersion();
if (!version) console.warn('promtool checks skipped: promtool is not installed (Debian package prometheus)');

describe('resources/monitoring', () => {
  it('the PrometheusRule is what scripts/monitoring-rules.ts generates from the plain rules file', () => {
    // On failure: node --experimental-strip-types scripts/monitoring-rules.ts
    expect(readFileSync(PROMETHEUS_RULE_PATH, 'utf8')).toBe(renderPrometheusRule());
    const manifest = parse(readFileSync(PROMETHEUS_RULE_PATH, 'utf8')) as { spec: unknown };
    expect(manifest.spec).toEqual(readRules());
  });

  it('rules read only metrics the agent exposes (docs/metrics.md) or kube-state-metrics ones', () => {
    const ours = new Set(ROLE_CATALOGS.flatMap((r) => Object.values(r.catalog).map((d) => d.name)));
    const exprs = readRules().groups.flatMap((g) => g.rules.map((r) => String(r.expr)));
    const used = new Set(
      exprs.flatMap((e) => [...e.matchAll(/\b(edgefleet_[a-z0-9_]+|kube_[a-z0-9_]+)/g)].map((m) => m[1])),
    );
    const unknown = [...used].filter((n) => n?.startsWith('edgefleet_') && !ours.has(n));
    expect(unknown).toEqual([]);
    expect([...used].filter((n) => n?.startsWith('kube_')).sort()).toEqual([
      'kube_node_labels',
      'kube_node_status_condition',
    ]);
  });

  describe.skipIf(!version)(`promtool (${version})`, () => {
    it('check rules passes on the plain rules file and on the PrometheusRule spec', async () => {
      expect(await promtool(['check', 'rules', RULES_PATH])).toMatchObject({ code: 0 });
      const dir = await mkdtemp(join(tmpdir(), 'edgefleet-rules-'));
      try {
        const spec = (parse(readFileSync(PROMETHEUS_RULE_PATH, 'utf8')) as { spec: object }).spec;
        const file = join(dir, 'from-prometheusrule.yaml');
        await writeFile(file, JSON.stringify(spec));
        const r = await promtool(['check', 'rules', file]);
        expect(r.code, r.output).toBe(0);
        expect(r.output).toContain(`SUCCESS: ${ruleCount()} rules found`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('test rules: every alert fires on its synthetic series once its `for` has held, and clears', async () => {
      const r = await promtool(['test', 'rules', RULES_TEST]);
      expect(r.code, r.output).toBe(0);
      expect(r.output).toMatch(/SUCCESS/);
      // Every shipped alert is exercised by the test file.
      const tested = new Set(
        [...readFileSync(RULES_TEST, 'utf8').matchAll(/alertname: (\S+)/g)].map((m) => m[1]),
      );
      const alerts = readRules().groups.flatMap((g) => g.rules.map((x) => String(x.alert)));
      expect(alerts.filter((a) => !tested.has(a))).toEqual([]);
    });

    it('check config passes on the example scrape config, with no warning', async () => {
      // promtool checks that the files it names exist: the rules file, and stand-ins for the
      // API server's CA, a token and the targets file, beside a copy of the config.
      const dir = await mkdtemp(join(tmpdir(), 'edgefleet-scrape-'));
      try {
        await writeFile(join(dir, 'prometheus.yaml'), readFileSync(SCRAPE_EXAMPLE));
        await writeFile(join(dir, 'edgefleet-rules.yaml'), readFileSync(RULES_PATH));
        await writeFile(join(dir, 'kubernetes-ca.crt'), '');
        await writeFile(join(dir, 'kubernetes-token'), '');
        await writeFile(join(dir, 'edgefleet-edge-nodes.json'), JSON.stringify([{ targets: ['edge-a'] }]));
        const r = await promtool(['check', 'config', join(dir, 'prometheus.yaml')]);
        expect(r.code, r.output).toBe(0);
        expect(r.output).not.toMatch(/WARNING/);
        expect(r.output).toContain(`SUCCESS: ${ruleCount()} rules found`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
