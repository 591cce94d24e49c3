/**
 * resources/monitoring/edgefleet-prometheusrule.yaml (for the Prometheus operator) from the plain
 * rules file next to it, the one source of truth. `node --experimental-strip-types
 * scripts/monitoring-rules.ts` writes it; test/unit/monitoring.test.ts fails when it is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'resources', 'monitoring');
export const RULES_PATH = join(DIR, 'edgefleet-rules.yaml');
export const PROMETHEUS_RULE_PATH = join(DIR, 'edgefleet-prometheusrule.yaml');

export interface RulesFile {
  groups: { name: string; rules: Record<string, unknown>[] }[];
}

export function readRules(path = RULES_PATH): RulesFile {
  return parse(readFileSync(path, 'utf8')) as RulesFile;
}

export function renderPrometheusRule(rules: RulesFile = readRules()): string {
  const manifest = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: 'edgefleet',
      labels: { 'app.kubernetes.io/name': 'edgefleet', 'app.kubernetes.io/component': 'alerts' },
    },
    spec: { groups: rules.groups },
  };
  return [
    '# Generated from edgefleet-rules.yaml by scripts/monitoring-rules.ts; do not edit by hand.',
    '# Apply into the namespace your Prometheus watches; add the labels its ruleSelector asks for.',
    stringify(manifest, { lineWidth: 0 }),
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(PROMETHEUS_RULE_PATH, renderPrometheusRule());
  console.log(`wrote ${PROMETHEUS_RULE_PATH}`);
}
