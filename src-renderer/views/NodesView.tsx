import { memo, useCallback, useMemo, useRef, useState } from 'react';
import { type NodeHealth, nodeHealthText } from '../../src-main/ipc/node-health.ts';
import { countRender } from '../debug/render-count.ts';
import { autonomyOf, isEdgeWorker } from '../model/fleet.ts';
import { nodeReportOf, reportSummary } from '../model/node-report.ts';
import {
  useActiveLoaded,
  useActiveState,
  useApp,
  useFleet,
  useFleetValue,
  useFleetVersion,
} from '../store/context.tsx';
import { useFleetUi, useFleetUiStore } from '../store/fleet-context.tsx';
import { type FleetData, poolOfNode } from '../store/fleet-data.ts';
import { type Column, Empty, HealthFilter, NoCluster, ResourceNotice, VirtualTable } from './common.tsx';
import { startNodeDrag } from './fleet/node-drag.ts';
import { PoolDropList } from './fleet/PoolDropList.tsx';
import { SelectionActions } from './fleet/SelectionActions.tsx';

const COLUMNS: Column[] = [
  { label: 'Select', hidden: true },
  'Node',
  'State',
  'Pool',
  'Autonomy',
  'Pods',
  'Kubelet',
  'Edge worker',
  'Hub',
];

/**
 * One row; re-renders only when its node, its pod count or its own selected flag changes.
 * `ordered` (the rows as filtered) is read at click time for shift-click ranges.
 */
const NodeRow = memo(function NodeRow(props: {
  fleet: FleetData;
  name: string;
  index: number;
  ordered: () => string[];
}) {
  const { fleet, name } = props;
  countRender('NodeRow');
  const n = useFleetValue(fleet, [`obj:nodes:${name}`], (f) => f.get('nodes', name), undefined);
  const pods = useFleetValue(fleet, [`podsOf:${name}`], (f) => f.podsByNode.get(name)?.size ?? 0, 0);
  const selected = useFleetUi((s) => s.selected.has(name));
  const ui = useFleetUiStore();
  // A report's verdict moves with time too (certificate days, staleness): rows with one re-render
  // once a minute; rows without one never re-render for the clock.
  const reported = n !== undefined && nodeReportOf(n).kind === 'report';
  const minute = useApp((s) => (reported ? Math.floor(s.now / 60_000) : 0));
  if (!n) return null;
  const health = fleet.nodeHealth(name) ?? 'not-ready';
  const hub = reportSummary(n, reported ? minute * 60_000 : Date.now());
  return (
    <tr
      aria-rowindex={props.index + 2}
      aria-selected={selected}
      data-node={name}
      draggable
      onDragStart={(e) => startNodeDrag(e, name, ui.getState().selected)}
    >
      <td className="select">
        <input
          type="checkbox"
          aria-label={`Select ${name}`}
          checked={selected}
          onChange={() => {}}
          onClick={(e) => ui.getState().toggle(name, { range: e.shiftKey, ordered: props.ordered() })}
        />
      </td>
      <th scope="row">
        <button type="button" className="link" onClick={() => ui.getState().openNode(name)}>
          {name}
        </button>
      </th>
      <td data-col="state" className={`health health-${health}`}>
        <span aria-hidden="true" className="dot" />
        {nodeHealthText(n)}
      </td>
      <td data-col="pool">{poolOfNode(n) || '—'}</td>
      <td data-col="autonomy">{autonomyOf(n) ?? 'off'}</td>
      <td data-col="pods">{pods}</td>
      <td className="sub">{n.kubeletVersion ?? '—'}</td>
      <td>{isEdgeWorker(n) ? 'yes' : 'no'}</td>
      <td data-col="hub" className={hub.level === 'bad' ? 'bad' : hub.level === 'ok' ? 'ok' : 'sub'}>
        {hub.text}
      </td>
    </tr>
  );
});

export function NodesView() {
  const loaded = useActiveLoaded();
  const nodesState = useActiveState('nodes');
  const namesRef = useRef<string[]>([]);
  const ordered = useCallback(() => namesRef.current, []);
  const fleet = useFleet();
  const [text, setText] = useState('');
  const [health, setHealth] = useState<NodeHealth | ''>('');
  countRender('NodesView');
  // Membership changes always matter; node states only while filtering by state.
  const topics = health ? ['kind:nodes', 'pools', 'health'] : text ? ['kind:nodes', 'pools'] : ['kind:nodes'];
  const v = useFleetVersion(fleet, topics);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `v` is the data version.
  const names = useMemo(() => {
    if (!fleet) return [];
    const all = fleet.keys('nodes');
    const q = text.trim().toLowerCase();
    if (!q && !health) return all;
    return all.filter((name) => {
      if (health && fleet.nodeHealth(name) !== health) return false;
      if (!q) return true;
      const n = fleet.get('nodes', name);
      return name.toLowerCase().includes(q) || (n ? poolOfNode(n).toLowerCase().includes(q) : false);
    });
  }, [fleet, v, text, health]);
  namesRef.current = names;
  if (!loaded || !fleet) return <NoCluster />;
  const total = fleet.objects.nodes.size;
  return (
    <>
      <h2>Nodes</h2>
      <ResourceNotice kind="nodes" />
      <div className="toolbar">
        <label>
          Filter nodes
          <input
            type="search"
            value={text}
            placeholder="name or pool"
            onChange={(e) => setText(e.target.value)}
          />
        </label>
        <HealthFilter value={health} onChange={setHealth} />
        <output className="sub" aria-label="Nodes shown">
          {names.length === total ? `${total} nodes` : `${names.length} of ${total} nodes`}
        </output>
      </div>
      {total === 0 ? (
        nodesState?.status === 'syncing' ? null : (
          <Empty>No nodes.</Empty>
        )
      ) : (
        <div className="nodes-grid">
          <VirtualTable
            label="Nodes"
            columns={COLUMNS}
            keys={names}
            row={(name, index) => (
              <NodeRow key={name} fleet={fleet} name={name} index={index} ordered={ordered} />
            )}
          />
          <aside className="nodes-side">
            <SelectionActions fleet={fleet} />
            <PoolDropList fleet={fleet} />
          </aside>
        </div>
      )}
    </>
  );
}
