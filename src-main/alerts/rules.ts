/**
 * The default alert rules as code: one pass over a cluster's reduced objects (nodes with their
 * hub's node report, YurtAppSets) yields every condition that holds now, with since when and the
 * objects involved. Node state is the one rule every view uses (nodeHealth); the node report is
 * read by the one parser the hub's writer shares (parseNodeReport). Whether a condition has held
 * long enough to fire, and what changed since the last pass, is the engine's job (engine.ts).
 */
import { LABEL_NODEPOOL } from '../../src-agent/api/labels.ts';
import {
  ANNOTATION_NODE_REPORT,
  type NodeReport,
  parseNodeReport,
  REPORT_LIMITS,
  type ReportFinding,
  type ReportLimits,
  reportFindings,
} from '../../src-agent/api/node-report.ts';
import { readRolloutCondition } from '../../src-agent/api/rollout-condition.ts';
import { YAS_CONDITION_ROLLOUT } from '../../src-agent/api/yurtappset.ts';
import {
  ALERT_OBJECTS_MAX,
  type AlertCoverage,
  type AlertInputProblem,
  type AlertObject,
  type AlertRuleId,
  type AlertRules,
} from '../ipc/alerts-types.ts';
import { condition, nodeHealth } from '../ipc/node-health.ts';
import type { NodeWire, ResourceState, YurtAppSetWire } from '../ipc/types.ts';

const DAY_MS = 86_400_000;

/** A condition that holds now. */
export interface Holding {
  rule: AlertRuleId;
  /** Key of the object it is about (alert id = rule/key). */
  key: string;
  /** When it started to hold, when the objects say; else the engine uses when it first saw it. */
  since?: number;
  summary: string;
  objects: AlertObject[];
  moreObjects?: number;
}

export interface RuleInputs {
  nodes: Iterable<NodeWire>;
  nodesState: ResourceState['status'];
  yurtappsets: Iterable<YurtAppSetWire>;
  yurtappsetsState: ResourceState['status'];
}

export interface RulePass {
  holding: Holding[];
  problems: AlertInputProblem[];
  coverage: AlertCoverage;
}

const coverageOf = (s: ResourceState['status']): AlertCoverage['nodes'] =>
  s === 'synced' ? 'ok' : s === 'syncing' ? 'syncing' : 'unavailable';

const ms = (iso: string | undefined): number | undefined => {
  const t = Date.parse(iso ?? '');
  return Number.isFinite(t) ? t : undefined;
};

const pct = (x: number): string => `${Math.round(x)} %`;

/**
 * Parsed reports by node, re-parsed only when the annotation's text changes: at 5,000 nodes a
 * pass then costs a string comparison per node, not a JSON.parse.
 */
export class ReportCache {
  private readonly byNode = new Map<
    string,
    { text: string; parsed: NodeReport | { error: string }; pass: number }
  >();
  private pass = 0;

  /** A new pass starts: entries not read in it are stale after it. */
  begin(): void {
    this.pass++;
  }

  get(n: NodeWire): NodeReport | { error: string } | undefined {
    const text = n.annotations?.[ANNOTATION_NODE_REPORT];
    if (text === undefined) {
      this.byNode.delete(n.name);
      return undefined;
    }
    const hit = this.byNode.get(n.name);
    if (hit && hit.text === text) {
      hit.pass = this.pass;
      return hit.parsed;
    }
    const parsed = parseNodeReport(text) as NodeReport | { error: string };
    this.byNode.set(n.name, { text, parsed, pass: this.pass });
    return parsed;
  }

  /** Drops the nodes not read in this pass (they went away); a no-op unless `read` is fewer than held. */
  sweep(read: number): void {
    if (this.byNode.size <= read) return;
    for (const [k, v] of this.byNode) if (v.pass !== this.pass) this.byNode.delete(k);
  }
}

interface PoolTally {
  members: number;
  up: number;
  down: { name: string; since: number | undefined }[];
}

function nodeObjects(n: NodeWire, pool: string | undefined): AlertObject[] {
  return pool
    ? [
        { kind: 'Node', name: n.name },
        { kind: 'NodePool', name: pool },
      ]
    : [{ kind: 'Node', name: n.name }];
}

const FINDING_RULE: Record<ReportFinding['kind'], AlertRuleId> = {
  cert: 'EdgeFleetHubCertificateExpiresSoon',
  cache: 'EdgeFleetHubCacheUnwritable',
  disk: 'EdgeFleetHubDiskNearlyFull',
  journal: 'EdgeFleetHubJournalNearBound',
  tunnel: 'EdgeFleetTunnelAgentDisconnected',
};

function findingSummary(node: string, r: NodeReport, f: ReportFinding): string {
  switch (f.kind) {
    case 'cert':
      return f.expired
        ? `The hub's node certificate on ${node} expired at ${r.certNotAfter}.`
        : `The hub's node certificate on ${node} expires at ${r.certNotAfter} and has not been rotated.`;
    case 'cache':
      return `The hub cache on ${node} is ${f.health}${f.message ? `: ${f.message}` : ''}.`;
    case 'disk': {
      const why: string[] = [];
      if (f.diskFreePct !== undefined) why.push(`${pct(f.diskFreePct)} of its filesystem free`);
      if (f.quotaUsedPct !== undefined) why.push(`${pct(f.quotaUsedPct)} of its quota used`);
      return `The hub cache on ${node} has ${why.join(' and ')}.`;
    }
    case 'journal':
      return `The offline journal on ${node} holds ${r.journal.depth} of ${r.journal.bound} entries (${pct(f.usedPct)}); beyond the bound the oldest are dropped.`;
    case 'tunnel':
      return `The tunnel agent on ${node} is disconnected: logs, exec and SSH through the tunnel do not reach it.`;
  }
}

function reportRules(
  n: NodeWire,
  r: NodeReport,
  pool: string | undefined,
  rules: AlertRules,
  now: number,
  out: Holding[],
): void {
  const on = (id: AlertRuleId) => rules[id].enabled;
  // Built only for the nodes a rule holds for (most nodes have none).
  let objs: AlertObject[] | undefined;
  const objects = () => {
    objs ??= nodeObjects(n, pool);
    return objs;
  };
  const limits: ReportLimits = {
    certDays: rules.EdgeFleetHubCertificateExpiresSoon.threshold ?? REPORT_LIMITS.certDays,
    diskFreePct: rules.EdgeFleetHubDiskNearlyFull.threshold ?? REPORT_LIMITS.diskFreePct,
    journalUsedPct: rules.EdgeFleetHubJournalNearBound.threshold ?? REPORT_LIMITS.journalUsedPct,
  };
  for (const f of reportFindings(r, now, limits)) {
    const rule = FINDING_RULE[f.kind];
    if (!on(rule)) continue;
    const alert: Holding = { rule, key: n.name, summary: findingSummary(n.name, r, f), objects: objects() };
    if (f.kind === 'cert') alert.since = f.notAfter - limits.certDays * DAY_MS;
    out.push(alert);
  }
}

/**
 * When a pool crossed below `threshold` % up: the down member whose going down made it cross
 * (members sorted by when they went down). Undefined when a needed timestamp is missing.
 */
function poolSince(t: PoolTally, threshold: number): number | undefined {
  // Smallest number down d with (members - d) * 100 < threshold * members.
  const needUp = Math.floor((threshold * t.members + 99) / 100);
  const d = t.members - needUp + 1;
  if (d < 1 || d > t.down.length) return undefined;
  const sinces = t.down.map((x) => x.since);
  if (sinces.some((s) => s === undefined)) return undefined;
  (sinces as number[]).sort((a, b) => a - b);
  return sinces[d - 1];
}

function poolRule(pool: string, t: PoolTally, rules: AlertRules, out: Holding[]): void {
  const r = rules.EdgeFleetPoolBelowReady;
  if (!r.enabled || t.members === 0) return;
  const threshold = r.threshold ?? 80;
  if (t.up * 100 >= threshold * t.members) return;
  const down = t.down.map((x) => x.name).sort();
  const listed = down.slice(0, ALERT_OBJECTS_MAX - 1);
  const since = poolSince(t, threshold);
  const h: Holding = {
    rule: 'EdgeFleetPoolBelowReady',
    key: pool,
    summary: `Pool ${pool}: ${t.up} of ${t.members} nodes ready (${pct((100 * t.up) / t.members)}, below ${threshold} %).`,
    objects: [{ kind: 'NodePool', name: pool }, ...listed.map((name) => ({ kind: 'Node' as const, name }))],
  };
  if (since !== undefined) h.since = since;
  if (down.length > listed.length) h.moreObjects = down.length - listed.length;
  out.push(h);
}

function appRules(y: YurtAppSetWire, rules: AlertRules, out: Holding[]): void {
  const key = `${y.namespace ?? ''}/${y.name}`;
  const app: AlertObject = {
    kind: 'YurtAppSet',
    name: y.name,
    ...(y.namespace ? { namespace: y.namespace } : {}),
  };
  const stopped = y.status?.conditions?.find((c) => c.type === YAS_CONDITION_ROLLOUT && c.status === 'False');
  const stand = readRolloutCondition(stopped);
  if ((stand?.kind === 'paused' || (!stopped && y.pauseRequested)) && rules.EdgeFleetRolloutPaused.enabled) {
    const h: Holding = {
      rule: 'EdgeFleetRolloutPaused',
      key,
      summary: `Rollout of ${y.name} is paused${stand?.kind === 'paused' && stand.waiting.length ? `; waiting: ${stand.waiting.join(', ')}` : ''}. Resume it to continue.`,
      objects: [app],
    };
    const since = ms(stopped?.since);
    if (since !== undefined) h.since = since;
    out.push(h);
    return;
  }
  if (stopped && stand?.kind !== 'paused' && rules.EdgeFleetRolloutFailing.enabled) {
    const h: Holding = {
      rule: 'EdgeFleetRolloutFailing',
      key,
      summary:
        stand?.kind === 'failing'
          ? `Rollout of ${y.name} stopped at pool ${stand.pool}: ${stand.reason}`
          : `Rollout of ${y.name} is not progressing${stopped.reason ? ` (${stopped.reason})` : ''}${stopped.message ? `: ${stopped.message}` : ''}`,
      objects: stand?.kind === 'failing' ? [app, { kind: 'NodePool', name: stand.pool }] : [app],
    };
    const since = ms(stopped.since);
    if (since !== undefined) h.since = since;
    out.push(h);
  }
}

/** Every condition that holds now, the node reports that could not be read, and what could be read at all. */
export function evaluateRules(
  input: RuleInputs,
  rules: AlertRules,
  now: number,
  reports: ReportCache,
): RulePass {
  const holding: Holding[] = [];
  const problems: AlertInputProblem[] = [];
  const pools = new Map<string, PoolTally>();
  let reportingNodes = 0;
  let withReport = 0;
  reports.begin();
  const offA = rules.EdgeFleetNodeOfflineAutonomous.enabled;
  const offN = rules.EdgeFleetNodeOfflineNotAutonomous.enabled;
  for (const n of input.nodes) {
    const pool = n.labels?.[LABEL_NODEPOOL];
    const h = nodeHealth(n, now);
    const up = h === 'ready' || h === 'cordoned';
    const ready = up ? undefined : condition(n, 'Ready');
    if (!up && (h === 'autonomous' ? offA : offN)) {
      const since = ms(ready?.since);
      const detail = ready?.message ? ` (${ready.message.replace(/\.+$/, '')})` : '';
      const x: Holding =
        h === 'autonomous'
          ? {
              rule: 'EdgeFleetNodeOfflineAutonomous',
              key: n.name,
              summary: `Node ${n.name} is cut off but autonomous: its pods keep running and are not evicted${detail}.`,
              objects: nodeObjects(n, pool),
            }
          : {
              rule: 'EdgeFleetNodeOfflineNotAutonomous',
              key: n.name,
              summary: `Node ${n.name} is offline and not autonomous: its pods will be evicted${detail}.`,
              objects: nodeObjects(n, pool),
            };
      if (since !== undefined) x.since = since;
      holding.push(x);
    }
    if (pool) {
      let t = pools.get(pool);
      if (!t) {
        t = { members: 0, up: 0, down: [] };
        pools.set(pool, t);
      }
      t.members++;
      if (up) t.up++;
      else t.down.push({ name: n.name, since: ms(ready?.since) });
    }
    const report = reports.get(n);
    if (report === undefined) continue;
    withReport++;
    if ('error' in report) {
      problems.push({ object: { kind: 'Node', name: n.name }, reason: report.error });
      continue;
    }
    reportingNodes++;
    reportRules(n, report, pool, rules, now, holding);
  }
  reports.sweep(withReport);
  for (const [pool, t] of pools) poolRule(pool, t, rules, holding);
  for (const y of input.yurtappsets) appRules(y, rules, holding);
  problems.sort((a, b) => a.object.name.localeCompare(b.object.name));
  return {
    holding,
    problems,
    coverage: {
      nodes: coverageOf(input.nodesState),
      yurtappsets: coverageOf(input.yurtappsetsState),
      reportingNodes,
    },
  };
}
