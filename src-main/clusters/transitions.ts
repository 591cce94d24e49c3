/**
 * The one rule for "what is a transition" in the fleet feed: events the app derives from state
 * it already watches (nodes, pools, YurtAppSets), with no watch of its own. A transition is a
 * change of node health (node-health.ts, the rule every view uses), a pool leaving or
 * re-entering "every member ready", or a rollout becoming paused/stuck. The first sighting of
 * a state worth noting (a node already not ready, a pool already degraded, a rollout already
 * paused) counts as well, so opening the app shows what is wrong now.
 *
 * Each derived event's uid is made from what it is about, the new state and since when, so the
 * same transition seen again after a re-list deduplicates in the ring (event-ring.ts).
 */

import { readRolloutCondition } from '../../src-agent/api/rollout-condition.ts';
import { YAS_CONDITION_ROLLOUT } from '../../src-agent/api/yurtappset.ts';
import { condition, NODE_HEALTH_TEXT, type NodeHealth, nodeHealth } from '../ipc/node-health.ts';
import type { EventWire, NodeWire, YurtAppSetWire } from '../ipc/types.ts';
import { cut } from './reduce.ts';

const SOURCE = { component: 'edgefleet-app' };

/** Health as the feed sees it: cordoning is an operator's act, not a health change. */
type Level = 'up' | 'autonomous' | 'down';
const level = (h: NodeHealth): Level =>
  h === 'autonomous' ? 'autonomous' : h === 'not-ready' ? 'down' : 'up';

function derived(
  object: EventWire['object'],
  state: string,
  since: string,
  reason: string,
  message: string,
  warning: boolean,
): EventWire {
  const id = ['derived', object.kind, object.namespace ?? '', object.name, state, since].join('.');
  return {
    name: id.toLowerCase().replace(/[^a-z0-9.-]+/g, '-'),
    uid: id,
    type: 'Derived',
    severity: warning ? 'warning' : 'info',
    reason,
    message: cut(message),
    count: 1,
    firstAt: since,
    lastAt: since,
    source: SOURCE,
    object,
  };
}

/** When the node's Ready condition last changed, else `now`. */
const readySince = (n: NodeWire, now: string): string => condition(n, 'Ready')?.since ?? now;

/** A node's health changed (or a first sighting of a node that is not up). */
export function nodeTransition(before: NodeWire | undefined, after: NodeWire, now: number): EventWire | null {
  const to = level(nodeHealth(after, now));
  const from = before ? level(nodeHealth(before, now)) : undefined;
  if (from === to || (from === undefined && to === 'up')) return null;
  const since = readySince(after, new Date(now).toISOString());
  const object = { kind: 'Node', name: after.name };
  const why = condition(after, 'Ready');
  const detail = why?.message ? `: ${why.message}` : '';
  if (to === 'up')
    return derived(object, 'ready', since, 'NodeReady', `Node ${after.name} is ready again.`, false);
  if (to === 'autonomous')
    return derived(
      object,
      'autonomous',
      since,
      'NodeCutOffAutonomous',
      `Node ${after.name} is cut off from the cloud but autonomous: its pods keep running and are not evicted${detail}`,
      true,
    );
  return derived(
    object,
    'not-ready',
    since,
    'NodeNotReady',
    `Node ${after.name} is ${NODE_HEALTH_TEXT['not-ready'].toLowerCase()}${detail}`,
    true,
  );
}

/** Members of a pool and how many are up (ready or cordoned), with the latest Ready change among them. */
export interface PoolCount {
  members: number;
  up: number;
  /** Latest Ready transition among members that are not up (or, when all are up, among all). */
  since?: string;
}

/** A pool dropped below all-ready, or got back to it (first sighting: only when degraded). */
export function poolTransition(
  pool: string,
  before: PoolCount | undefined,
  after: PoolCount,
  now: number,
): EventWire | null {
  if (!pool || after.members === 0) return null;
  const allUp = (c: PoolCount) => c.up === c.members;
  const was = before && before.members > 0 ? allUp(before) : undefined;
  const is = allUp(after);
  if (was === is || (was === undefined && is)) return null;
  const since = after.since ?? new Date(now).toISOString();
  const object = { kind: 'NodePool', name: pool };
  if (is)
    return derived(
      object,
      'all-ready',
      since,
      'PoolReady',
      `Pool ${pool}: all ${after.members} nodes ready again.`,
      false,
    );
  const down = after.members - after.up;
  return derived(
    object,
    'degraded',
    since,
    'PoolDegraded',
    `Pool ${pool}: ${down} of ${after.members} node${after.members === 1 ? '' : 's'} not ready.`,
    true,
  );
}

/**
 * A YurtAppSet's rollout stopped: RolloutProgressing=False, read by the one module that also
 * writes it (rollout-condition.ts). Our controller stops by itself at a failing pool (stuck,
 * a warning) or holds because someone paused it (paused, information); any other False reason
 * (another controller's) counts as stuck.
 */
export function rolloutTransition(
  before: YurtAppSetWire | undefined,
  after: YurtAppSetWire,
): EventWire | null {
  const stopped = (y: YurtAppSetWire | undefined) =>
    y?.status?.conditions?.find((c) => c.type === YAS_CONDITION_ROLLOUT && c.status === 'False');
  const now = stopped(after);
  if (!now) return null;
  const was = stopped(before);
  if (was && was.since === now.since && was.reason === now.reason) return null;
  const since = now.since ?? after.createdAt ?? '';
  const object = { kind: 'YurtAppSet', namespace: after.namespace, name: after.name };
  const stand = readRolloutCondition(now);
  if (stand?.kind === 'paused')
    return derived(
      object,
      'paused',
      since,
      'RolloutPaused',
      `Rollout of ${after.name} paused by a user${stand.waiting.length ? `; waiting: ${stand.waiting.join(', ')}` : ''}.`,
      false,
    );
  const why =
    stand?.kind === 'failing'
      ? `stopped at pool ${stand.pool}: ${stand.reason}`
      : `not progressing${now.reason ? ` (${now.reason})` : ''}${now.message ? `: ${now.message}` : ''}`;
  return derived(object, 'stuck', since, 'RolloutStuck', `Rollout of ${after.name} ${why}`, true);
}
