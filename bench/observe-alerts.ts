/**
 * `npm run bench -- observe-alerts [--nodes N] [--pools P]` (no lab, no root): the app's alert
 * evaluation (src-main/alerts/engine.ts, the code the live cluster's worker runs) over N
 * synthetic reduced nodes (default 5,000 in 200 pools, a third with a hub node report, ten
 * YurtAppSets), timed per pass: the first pass (every report parsed), a pass with nothing
 * changed, a pass after one node changed, and a pass with a whole site (10 %) cut off. The
 * engine runs at most one pass a second, so a pass's time is also its CPU share (ms per 1,000 ms).
 */
import { parseArgs } from 'node:util';
import { AlertEngine } from '../src-main/alerts/engine.ts';
import { type AlertsDiff, defaultAlertRules } from '../src-main/ipc/alerts-types.ts';
import { ANNOTATION_NODE_REPORT, type NodeReport } from '../src-main/ipc/edge-api.ts';
import type { NodeWire, YurtAppSetWire } from '../src-main/ipc/types.ts';

function report(i: number, at: string): NodeReport {
  return {
    v: 1,
    at,
    agentVersion: '0.1.0',
    cache: { bytes: 20e6 + i, health: 'Ready', quotaBytes: 1e9 },
    disk: { freeBytes: 40e9, totalBytes: 100e9 },
    journal: { depth: i % 100, bound: 10_000, dropped: 0 },
    offlineSeconds24h: 0,
    certNotAfter: new Date(Date.now() + 300 * 86_400_000).toISOString(),
    tunnel: 'connected',
  };
}

function node(i: number, pools: number, ready: boolean, at: string): NodeWire {
  const annotations: Record<string, string> = { 'node.openyurt.io/autonomy-duration': i % 2 ? '0' : '5m' };
  if (i % 3 === 0) annotations[ANNOTATION_NODE_REPORT] = JSON.stringify(report(i, at));
  return {
    name: `edge-${String(i).padStart(5, '0')}`,
    rv: `${i}-${ready}`,
    labels: { 'apps.openyurt.io/nodepool': `pool-${i % pools}` },
    annotations,
    conditions: [
      {
        type: 'Ready',
        status: ready ? 'True' : 'Unknown',
        since: at,
        message: 'Kubelet stopped posting node status.',
      },
      { type: 'Autonomy', status: 'True' },
    ],
  };
}

const time = (f: () => unknown) => {
  const t = performance.now();
  f();
  return performance.now() - t;
};

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { nodes: { type: 'string' }, pools: { type: 'string' } } });
  const n = Number(values.nodes ?? 5_000);
  const pools = Number(values.pools ?? 200);
  const at = new Date(Date.now() - 3_600_000).toISOString();
  const nodes = new Map<string, NodeWire>();
  for (let i = 0; i < n; i++) {
    const x = node(i, pools, true, at);
    nodes.set(x.name, x);
  }
  const apps: YurtAppSetWire[] = Array.from({ length: 10 }, (_, i) => ({
    name: `app-${i}`,
    namespace: 'default',
    workloadKind: 'Deployment',
  }));
  const diffs: AlertsDiff[] = [];
  const engine = new AlertEngine({
    clusterId: 'bench/alerts',
    rules: defaultAlertRules(),
    inputs: () => ({
      nodes: nodes.values(),
      nodesState: 'synced',
      yurtappsets: apps,
      yurtappsetsState: 'synced',
      connected: true,
    }),
    onDiff: (d) => diffs.push(d),
    tickMs: 0,
  });
  const heapBefore = process.memoryUsage().heapUsed;
  const first = time(() => engine.evaluate());
  const steady: number[] = [];
  for (let k = 0; k < 20; k++) steady.push(time(() => engine.evaluate()));
  const one = node(7, pools, false, new Date().toISOString());
  nodes.set(one.name, one);
  const oneChange = time(() => engine.evaluate());
  const siteAt = new Date(Date.now() - 20 * 60_000).toISOString();
  for (let i = 0; i < n / 10; i++) {
    const x = node(i, pools, false, siteAt);
    nodes.set(x.name, x);
  }
  const siteCut = time(() => engine.evaluate());
  const cutSteady: number[] = [];
  for (let k = 0; k < 10; k++) cutSteady.push(time(() => engine.evaluate()));
  global.gc?.();
  const heapAfter = process.memoryUsage().heapUsed;
  const snap = engine.snapshot();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  console.log(
    `alert evaluation over ${n} nodes / ${pools} pools (${snap.coverage.reportingNodes} with a node report)`,
  );
  console.log(`  first pass (every report parsed)   ${ms(first)}`);
  console.log(`  pass, nothing changed (median)      ${ms(median(steady))}`);
  console.log(`  pass after one node went down       ${ms(oneChange)}`);
  console.log(`  pass after a site (10 %) was cut    ${ms(siteCut)}  → ${snap.alerts.length} alerts`);
  console.log(`  pass with the site cut (median)     ${ms(median(cutSteady))}`);
  console.log(`  CPU at one pass a second            ≤ ${(median(cutSteady) / 10).toFixed(1)} % of one core`);
  console.log(`  heap held by the engine (approx.)   ${((heapAfter - heapBefore) / 1e6).toFixed(1)} MB`);
  engine.stop();
}
