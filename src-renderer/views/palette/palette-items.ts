/**
 * What the command palette offers for a query: views, then nodes, pools and apps whose name
 * contains it, each with its actions. Built only while the palette is open and capped per kind,
 * so a 5,000-node fleet costs one pass over the sorted name lists, not 5,000 rendered items.
 */
import type { FleetAction } from '../../../src-main/ipc/fleet-types.ts';
import type { ViewName } from '../../store/app-store.ts';
import type { FleetData } from '../../store/fleet-data.ts';

export type PaletteCommand =
  | { kind: 'view'; view: ViewName }
  | { kind: 'node'; node: string }
  | { kind: 'cordon' | 'uncordon' | 'drain'; node: string }
  | { kind: 'pool'; pool: string }
  | { kind: 'app'; app: string };

export interface PaletteItem {
  id: string;
  group: 'Go to' | 'Nodes' | 'Pools' | 'Apps';
  label: string;
  command: PaletteCommand;
  /** The write this runs (gated by RBAC and the connection). */
  action?: FleetAction;
}

export const VIEW_ITEMS: { view: ViewName; label: string }[] = [
  { view: 'clusters', label: 'Clusters' },
  { view: 'pools', label: 'Node pools' },
  { view: 'nodes', label: 'Nodes' },
  { view: 'apps', label: 'Apps' },
  { view: 'topology', label: 'Topology' },
  { view: 'events', label: 'Events' },
  { view: 'alerts', label: 'Alerts' },
  { view: 'provision', label: 'Provisioning' },
];

export const PER_KIND = 8;

function matching(names: string[], q: string): string[] {
  const out: string[] = [];
  for (const n of names) {
    if (n.toLowerCase().includes(q)) out.push(n);
    if (out.length >= PER_KIND) break;
  }
  return out;
}

export function paletteItems(fleet: FleetData | undefined, query: string): PaletteItem[] {
  const q = query.trim().toLowerCase();
  const items: PaletteItem[] = VIEW_ITEMS.filter((v) => v.label.toLowerCase().includes(q)).map((v) => ({
    id: `view:${v.view}`,
    group: 'Go to',
    label: v.label,
    command: { kind: 'view', view: v.view },
  }));
  if (!fleet) return items;
  for (const node of matching(fleet.keys('nodes'), q)) {
    items.push({
      id: `node:${node}`,
      group: 'Nodes',
      label: `Open node ${node}`,
      command: { kind: 'node', node },
    });
    // Actions only once the query narrows to a few nodes: a list of every node's drain helps nobody.
    if (q.length < 2) continue;
    const cordoned = fleet.get('nodes', node)?.unschedulable === true;
    const flip = cordoned ? 'uncordon' : 'cordon';
    items.push({
      id: `${flip}:${node}`,
      group: 'Nodes',
      label: `${cordoned ? 'Uncordon' : 'Cordon'} ${node}`,
      command: { kind: flip, node },
      action: 'nodes:cordon',
    });
    items.push({
      id: `drain:${node}`,
      group: 'Nodes',
      label: `Drain ${node}`,
      command: { kind: 'drain', node },
      action: 'nodes:drain',
    });
  }
  for (const pool of matching(fleet.poolNames(), q))
    items.push({
      id: `pool:${pool}`,
      group: 'Pools',
      label: `Pool ${pool}`,
      command: { kind: 'pool', pool },
    });
  for (const app of matching(fleet.keys('yurtappsets'), q))
    items.push({ id: `app:${app}`, group: 'Apps', label: `App ${app}`, command: { kind: 'app', app } });
  return items;
}
