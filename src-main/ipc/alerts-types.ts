/**
 * The app's alert rules and alerts as they cross IPC: the one table of default rules (names as in
 * resources/monitoring/edgefleet-rules.yaml where they overlap, so an operator reads the same name
 * in Prometheus and in the app), each cluster's editable thresholds, and the alerts main evaluates
 * from the live state (src-main/alerts). The renderer's settings form is drawn from this table.
 */
import { REPORT_LIMITS } from '../../src-agent/api/node-report.ts';

export const ALERT_RULE_IDS = [
  'EdgeFleetNodeOfflineAutonomous',
  'EdgeFleetNodeOfflineNotAutonomous',
  'EdgeFleetPoolBelowReady',
  'EdgeFleetHubCertificateExpiresSoon',
  'EdgeFleetHubCacheUnwritable',
  'EdgeFleetHubDiskNearlyFull',
  'EdgeFleetHubJournalNearBound',
  'EdgeFleetTunnelAgentDisconnected',
  'EdgeFleetRolloutFailing',
  'EdgeFleetRolloutPaused',
] as const;
export type AlertRuleId = (typeof ALERT_RULE_IDS)[number];

export type AlertSeverity = 'critical' | 'warning' | 'info';

/** What a rule reads: node rules need the nodes list, report rules the hub's node report too. */
export type AlertSource = 'nodes' | 'node-report' | 'yurtappsets';

export interface AlertRuleDef {
  id: AlertRuleId;
  title: string;
  severity: AlertSeverity;
  source: AlertSource;
  /** Minutes the condition must hold before the alert fires (Prometheus `for`). */
  forMinutes: number;
  /** The rule's one number, when it has one: what it means, its unit and bounds. */
  threshold?: { label: string; unit: '%' | 'days'; value: number; min: number; max: number };
}

export const ALERT_RULES: readonly AlertRuleDef[] = [
  {
    id: 'EdgeFleetNodeOfflineAutonomous',
    title: 'Node cut off but autonomous',
    severity: 'warning',
    source: 'nodes',
    forMinutes: 15,
  },
  {
    id: 'EdgeFleetNodeOfflineNotAutonomous',
    title: 'Node offline and not autonomous (pods will be evicted)',
    severity: 'critical',
    source: 'nodes',
    forMinutes: 5,
  },
  {
    id: 'EdgeFleetPoolBelowReady',
    title: 'Pool below its share of ready nodes',
    severity: 'warning',
    source: 'nodes',
    forMinutes: 15,
    threshold: { label: 'Ready nodes below', unit: '%', value: 80, min: 1, max: 100 },
  },
  {
    id: 'EdgeFleetHubCertificateExpiresSoon',
    title: "Hub's node certificate expires soon",
    severity: 'warning',
    source: 'node-report',
    forMinutes: 10,
    threshold: { label: 'Expires within', unit: 'days', value: REPORT_LIMITS.certDays, min: 1, max: 365 },
  },
  {
    id: 'EdgeFleetHubCacheUnwritable',
    title: 'Hub cache unhealthy (refuses writes)',
    severity: 'critical',
    source: 'node-report',
    forMinutes: 5,
  },
  {
    id: 'EdgeFleetHubDiskNearlyFull',
    title: 'Hub cache disk or quota nearly full',
    severity: 'warning',
    source: 'node-report',
    forMinutes: 15,
    threshold: { label: 'Free below', unit: '%', value: REPORT_LIMITS.diskFreePct, min: 1, max: 99 },
  },
  {
    id: 'EdgeFleetHubJournalNearBound',
    title: 'Offline journal near its bound',
    severity: 'warning',
    source: 'node-report',
    forMinutes: 5,
    threshold: {
      label: 'Used at or above',
      unit: '%',
      value: REPORT_LIMITS.journalUsedPct,
      min: 1,
      max: 100,
    },
  },
  {
    id: 'EdgeFleetTunnelAgentDisconnected',
    title: 'Tunnel agent disconnected',
    severity: 'warning',
    source: 'node-report',
    forMinutes: 5,
  },
  {
    id: 'EdgeFleetRolloutFailing',
    title: 'Rollout stopped at a failing pool',
    severity: 'warning',
    source: 'yurtappsets',
    forMinutes: 10,
  },
  {
    id: 'EdgeFleetRolloutPaused',
    title: 'Rollout paused',
    severity: 'info',
    source: 'yurtappsets',
    forMinutes: 60,
  },
];

export const ALERT_RULE_BY_ID = Object.fromEntries(ALERT_RULES.map((r) => [r.id, r])) as Record<
  AlertRuleId,
  AlertRuleDef
>;

/** One rule's editable settings. */
export interface AlertRuleSetting {
  enabled: boolean;
  forMinutes: number;
  threshold?: number;
}
export type AlertRules = Record<AlertRuleId, AlertRuleSetting>;

/** At most a week of `for`. */
export const FOR_MINUTES_MAX = 7 * 24 * 60;

export function defaultAlertRules(): AlertRules {
  const out = {} as AlertRules;
  for (const r of ALERT_RULES)
    out[r.id] = r.threshold
      ? { enabled: true, forMinutes: r.forMinutes, threshold: r.threshold.value }
      : { enabled: true, forMinutes: r.forMinutes };
  return out;
}

/** Stored rules over the defaults: a rule added in a later version starts at its default. */
export function withDefaults(stored: Partial<AlertRules> | undefined): AlertRules {
  const out = defaultAlertRules();
  for (const id of ALERT_RULE_IDS) {
    const s = stored?.[id];
    if (s) out[id] = { ...out[id], ...s };
  }
  return out;
}

export interface AlertObject {
  kind: 'Node' | 'NodePool' | 'YurtAppSet';
  name: string;
  namespace?: string;
}

/**
 * pending: the condition holds, not yet for the rule's `for`. firing: it has. resolved: it
 * fired and no longer holds (kept for a while so the list says what happened). An alert that
 * stops holding while pending is dropped, as Prometheus does.
 */
export type AlertState = 'pending' | 'firing' | 'resolved';

export interface AlertWire {
  /** `<rule>/<object key>`: one alert per rule and object. */
  id: string;
  rule: AlertRuleId;
  severity: AlertSeverity;
  state: AlertState;
  /** When the condition started to hold (from the object's own timestamps where it has them). */
  since: string;
  /** When it fired (since + for, or when the app saw it, whichever is later). */
  firingAt?: string;
  resolvedAt?: string;
  summary: string;
  /** The object the alert is about first, then the ones involved (a pool's nodes that are down, bounded). */
  objects: AlertObject[];
  /** How many more objects are involved than listed. */
  moreObjects?: number;
}

/** A node whose report could not be read, and why (the report rules skip it). */
export interface AlertInputProblem {
  object: AlertObject;
  reason: string;
}

/** What the rules could read: a rule whose input is forbidden or missing cannot fire, and the view says so. */
export interface AlertCoverage {
  nodes: 'ok' | 'syncing' | 'unavailable';
  yurtappsets: 'ok' | 'syncing' | 'unavailable';
  /** Nodes that carry a readable node report. */
  reportingNodes: number;
}

export interface AlertsSnapshot {
  clusterId: string;
  /** Changes each time the cluster's live state restarts; diffs of another epoch are not applied. */
  epoch: string;
  seq: number;
  /** Last evaluation; undefined before the first. */
  evaluatedAt?: string;
  /** Evaluation holds while the cluster is not connected: the state is as of the last contact. */
  live: boolean;
  alerts: AlertWire[];
  problems: AlertInputProblem[];
  /** How many problems there are in all (the list is bounded). */
  problemCount: number;
  coverage: AlertCoverage;
  rules: AlertRules;
}

export interface AlertsDiff {
  clusterId: string;
  epoch: string;
  seq: number;
  evaluatedAt: string;
  live: boolean;
  upserts: AlertWire[];
  removes: string[];
  /** Ids that started firing in this evaluation (what a desktop notification announces). */
  fired: string[];
  /** Sent when they changed. */
  problems?: AlertInputProblem[];
  problemCount?: number;
  coverage?: AlertCoverage;
  rules?: AlertRules;
}

/** Resolved alerts kept per cluster (the newest). */
export const RESOLVED_KEPT = 200;
/** Objects named per alert; the rest are counted. */
export const ALERT_OBJECTS_MAX = 20;
/** Report problems named per cluster. */
export const ALERT_PROBLEMS_MAX = 50;
