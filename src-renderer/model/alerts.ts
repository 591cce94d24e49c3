/**
 * Alerts as the views read them: the order (firing first, then pending, then resolved; the
 * newest within each), the filter, and where an involved object links to.
 */
import type { AlertObject, AlertState, AlertWire } from '../../src-main/ipc/alerts-types.ts';
import type { ViewName } from '../store/app-store.ts';

export type AlertFilter = 'active' | AlertState | 'all';

export const STATE_TEXT: Record<AlertState, string> = {
  firing: 'Firing',
  pending: 'Pending',
  resolved: 'Resolved',
};

const RANK: Record<AlertState, number> = { firing: 0, pending: 1, resolved: 2 };

export function alertOrder(a: AlertWire, b: AlertWire): number {
  const when = (x: AlertWire) => x.resolvedAt ?? x.firingAt ?? x.since;
  return RANK[a.state] - RANK[b.state] || when(b).localeCompare(when(a)) || a.id.localeCompare(b.id);
}

export function shown(alerts: AlertWire[], by: AlertFilter): AlertWire[] {
  const keep =
    by === 'all'
      ? () => true
      : by === 'active'
        ? (a: AlertWire) => a.state !== 'resolved'
        : (a: AlertWire) => a.state === by;
  return alerts.filter(keep).sort(alertOrder);
}

export type ObjectLink = { to: 'node'; node: string } | { to: Extract<ViewName, 'pools' | 'apps'> };

export function linkOfObject(o: AlertObject): ObjectLink {
  if (o.kind === 'Node') return { to: 'node', node: o.name };
  return { to: o.kind === 'NodePool' ? 'pools' : 'apps' };
}

export function objectLabel(o: AlertObject): string {
  return `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;
}
