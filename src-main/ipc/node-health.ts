/**
 * One rule, used by every view and by the alert rules: what state a node is in, in words a
 * field engineer reads the same way everywhere. The point is that a node cut off from the
 * cloud but running on its own (autonomy) never looks like a dead one.
 */
import { autonomySeconds } from '../../src-agent/api/autonomy.ts';
import {
  ANNOTATION_AUTONOMY_DURATION,
  ANNOTATION_AUTONOMY_LEGACY,
  ANNOTATION_BINDING,
  CONDITION_AUTONOMY,
} from '../../src-agent/api/labels.ts';
import type { ConditionWire, NodeWire } from './types.ts';

/**
 * ready: Ready=True.
 * autonomous: NotReady/Unknown while its hub reported Autonomy=True and the autonomy duration
 *   since the node went NotReady has not run out: pods keep running and are not evicted.
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

/**
 * The hub said Autonomy=True (it reports on every change, so a True it could no longer stand by
 * would have been replaced while the link was up) and the autonomy duration, counted from when
 * the node went NotReady, has not run out at `now`.
 */
export function autonomyWorking(n: NodeWire, now = Date.now()): boolean {
  if (condition(n, CONDITION_AUTONOMY)?.status !== 'True') return false;
  const secs = autonomySeconds({ metadata: { annotations: n.annotations ?? {} } });
  if (secs === undefined) return false;
  if (secs === null) return true;
  const since = Date.parse(condition(n, 'Ready')?.since ?? '');
  return !Number.isFinite(since) || now - since < secs * 1000;
}

export function nodeHealth(n: NodeWire, now = Date.now()): NodeHealth {
  const ready = condition(n, 'Ready')?.status === 'True';
  if (!ready) return autonomyWorking(n, now) ? 'autonomous' : 'not-ready';
  return n.unschedulable ? 'cordoned' : 'ready';
}

/** The state and the extras, as one phrase for tables, tooltips and screen readers. */
export function nodeHealthText(n: NodeWire): string {
  const h = nodeHealth(n);
  const extra = h !== 'cordoned' && n.unschedulable ? ', cordoned' : '';
  return `${NODE_HEALTH_TEXT[h]}${extra}`;
}
