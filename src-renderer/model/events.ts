/**
 * The events feed as the views read it: newest first, the pool an event concerns (from the
 * objects the renderer already holds), the filters, and where a row links to.
 */
import type { EventWire } from '../../src-main/ipc/types.ts';
import { wireKey } from '../../src-main/ipc/wire-key.ts';
import { type FleetData, poolOfNode } from '../store/fleet-data.ts';

export type EventOrigin = 'all' | 'Warning' | 'Derived';

export interface EventFilters {
  origin: EventOrigin;
  /** involvedObject kind, '' = any. */
  kind: string;
  /** '' = any. */
  pool: string;
  text: string;
}

export const NO_FILTERS: EventFilters = { origin: 'all', kind: '', pool: '', text: '' };

/** Newest first by last time; ties by name so the order is stable. */
export function newestFirst(a: EventWire, b: EventWire): number {
  return (b.lastAt ?? '').localeCompare(a.lastAt ?? '') || a.name.localeCompare(b.name);
}

/** The node an event is about or happened on: the node itself, or a pod's node. */
export function nodeOfEvent(f: FleetData, e: EventWire): string | undefined {
  const o = e.object;
  if (o.kind === 'Node') return o.name;
  if (o.kind === 'Pod') return f.get('pods', wireKey(o))?.node;
  return undefined;
}

export function poolOfEvent(f: FleetData, e: EventWire): string | undefined {
  if (e.object.kind === 'NodePool') return e.object.name;
  const node = nodeOfEvent(f, e);
  const n = node ? f.get('nodes', node) : undefined;
  return n ? poolOfNode(n) || undefined : undefined;
}

export function matches(f: FleetData, e: EventWire, by: EventFilters): boolean {
  if (by.origin === 'Derived' && e.type !== 'Derived') return false;
  if (by.origin === 'Warning' && e.type !== 'Warning') return false;
  if (by.kind && e.object.kind !== by.kind) return false;
  if (by.pool && poolOfEvent(f, e) !== by.pool) return false;
  const q = by.text.trim().toLowerCase();
  if (!q) return true;
  return [e.reason, e.message, e.object.name, e.object.namespace, e.source?.component, e.source?.host].some(
    (s) => s?.toLowerCase().includes(q),
  );
}

/** Keys of the feed's events that pass the filters, newest first. */
export function feedKeys(f: FleetData, by: EventFilters): string[] {
  const out: EventWire[] = [];
  for (const e of f.objects.events.values()) if (matches(f, e, by)) out.push(e);
  return out.sort(newestFirst).map(wireKey);
}

/**
 * What the feed holds about one node for its page: warnings about its pods and the transitions
 * EdgeFleet saw on it (the node's own Kubernetes events come from `events:watchObject`).
 */
export function nodeFeedEvents(f: FleetData, node: string): EventWire[] {
  const pods = f.podsByNode.get(node);
  const out: EventWire[] = [];
  for (const e of f.objects.events.values()) {
    const o = e.object;
    if (
      o.kind === 'Pod' ? pods?.has(wireKey(o)) : o.kind === 'Node' && o.name === node && e.type === 'Derived'
    )
      out.push(e);
  }
  return out;
}

/** One list out of the page's two sources, each event once (by uid), newest first, at most `max`. */
export function mergeNewestFirst(lists: EventWire[][], max: number): EventWire[] {
  const seen = new Set<string>();
  const all: EventWire[] = [];
  for (const e of lists.flat()) {
    const id = e.uid ?? wireKey(e);
    if (seen.has(id)) continue;
    seen.add(id);
    all.push(e);
  }
  return all.sort(newestFirst).slice(0, max);
}

/** Where a row's object opens: a node page, or the view that lists the object. */
export type EventLink = { to: 'node'; node: string } | { to: 'pools' } | { to: 'apps' } | null;

export function linkOf(f: FleetData, e: EventWire): EventLink {
  const k = e.object.kind;
  if (k === 'Node' || k === 'Pod') {
    const node = nodeOfEvent(f, e);
    return node ? { to: 'node', node } : null;
  }
  if (k === 'NodePool') return { to: 'pools' };
  if (k === 'YurtAppSet') return { to: 'apps' };
  return null;
}

export const ORIGIN_TEXT: Record<EventWire['type'], string> = {
  Warning: 'Warning',
  Normal: 'Normal',
  Derived: 'Seen by EdgeFleet',
};

/** The RBAC rule that lets an account read events, for the "forbidden" notice. */
export const EVENTS_RBAC_FIX =
  'Ask a cluster admin for a ClusterRole rule: apiGroups [""], resources ["events"], verbs ["list", "watch"], bound to your account.';
