/**
 * One rule, used by every view and by the alert rules: what state a node is in, in words a
 * field engineer reads the same way everywhere. The point is that a node cut off from the
 * cloud but running on its own (autonomy) never looks like a dead one.
 */
import {
  ANNOTATION_AUTONOMY_DURATION,
  ANNOTATION_AUTONOMY_LEGACY,
  ANNOTATION_BINDING,
  CONDITION_AUTONOMY,
} from '../../src-agent/api/labels.ts';
import type { ConditionWire, NodeWire } from './types.ts';

/**
 * ready: Ready=True.
 * autonomous: NotReady/Unknown while its hub reported Autonomy=True up to the cut: pods keep
 *   running and are not evicted.
 * not-ready: NotReady/Unknown without working autonomy: its pods will be evicted.
 * cordoned: Ready but unschedulable (an operator's choice).
 */
export type NodeHealth = 'ready' | 'autonomous' | 'not-ready' | 'cordoned';

export const NODE_HEALTH_TEXT: Record<NodeHealth, string> = {
  ready: 'Ready',
  autonomous: 'Cut off, autonomous',
  'not-ready': 'Not ready, will be evicted',
  cordoned: 'Cordoned',
};

/** How long before the cut the hub's Autonomy report may be and still count (its heartbeat period is 1 min). */
export const AUTONOMY_REPORT_FRESH_MS = 5 * 60_000;

export function condition(n: NodeWire, type: string): ConditionWire | undefined {
  return n.conditions.find((c) => c.type === type);
}

/** "never evicted", "5m0s", "pods bound", "on (legacy)", or undefined when autonomy is off. */
export function autonomySetting(n: NodeWire): string | undefined {
  const a = n.annotations ?? {};
  const duration = a[ANNOTATION_AUTONOMY_DURATION];
  if (duration !== undefined) return duration === '0' ? 'never evicted' : duration;
  if (a[ANNOTATION_BINDING] === 'true') return 'pods bound';
  if (a[ANNOTATION_AUTONOMY_LEGACY] === 'true') return 'on (legacy)';
  return undefined;
}

/** The hub said Autonomy=True, and said it recently before the node went NotReady. */
export function autonomyWorking(n: NodeWire): boolean {
  const a = condition(n, CONDITION_AUTONOMY);
  if (a?.status !== 'True' || autonomySetting(n) === undefined) return false;
  const ready = condition(n, 'Ready');
  if (!ready || ready.status === 'True' || !ready.since) return true;
  const reportedAt = Date.parse(a.heartbeat ?? a.since ?? '');
  return Number.isFinite(reportedAt) && reportedAt >= Date.parse(ready.since) - AUTONOMY_REPORT_FRESH_MS;
}

export function nodeHealth(n: NodeWire): NodeHealth {
  const ready = condition(n, 'Ready')?.status === 'True';
  if (!ready) return autonomyWorking(n) ? 'autonomous' : 'not-ready';
  return n.unschedulable ? 'cordoned' : 'ready';
}

/** The state and the extras, as one phrase for tables, tooltips and screen readers. */
export function nodeHealthText(n: NodeWire): string {
  const h = nodeHealth(n);
  const extra = h !== 'cordoned' && n.unschedulable ? ', cordoned' : '';
  return `${NODE_HEALTH_TEXT[h]}${extra}`;
}
