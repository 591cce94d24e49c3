import { memo, useMemo, useState } from 'react';
import { useFleetValue, useFleetVersion } from '../../store/context.tsx';
import { useFleetActions, useGate } from '../../store/fleet-context.tsx';
import type { FleetData } from '../../store/fleet-data.ts';
import { carriesNodes, droppedNodes } from './node-drag.ts';

/** One pool as a drop target: nodes dropped here are moved into it. */
const PoolTarget = memo(function PoolTarget(props: { fleet: FleetData; pool: string; enabled: boolean }) {
  const { fleet, pool } = props;
  const members = useFleetValue(fleet, [`pool:${pool}`], (f) => f.poolSummary(pool).members, 0);
  const assign = useFleetActions((s) => s.assign);
  const [over, setOver] = useState(false);
  return (
    <li
      className={`drop-target${over ? ' over' : ''}`}
      data-pool={pool}
      aria-label={`Drop nodes on pool ${pool}`}
      onDragOver={(e) => {
        if (!props.enabled || !carriesNodes(e)) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = 'move';
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        setOver(false);
        const nodes = droppedNodes(e);
        if (!props.enabled || !nodes?.length) return;
        e.preventDefault();
        void assign(nodes, pool);
      }}
    >
      <span className="pool-name">{pool}</span>{' '}
      <span className="sub">{members === 1 ? '1 node' : `${members} nodes`}</span>
    </li>
  );
});

/** The pools beside the node table, to drop dragged nodes on (the keyboard way: "Move to"). */
export function PoolDropList(props: { fleet: FleetData }) {
  const v = useFleetVersion(props.fleet, ['kind:nodepools', 'pools']);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `v` is the data version.
  const pools = useMemo(() => props.fleet.poolNames(), [props.fleet, v]);
  const g = useGate('nodes:assign-pool');
  return (
    <section className="panel drop-list" aria-label="Pools to drop nodes on">
      <h3>Drag nodes onto a pool</h3>
      {!g.enabled ? <p className="reason">{g.reason}</p> : null}
      <ul>
        {pools.map((p) => (
          <PoolTarget key={p} fleet={props.fleet} pool={p} enabled={g.enabled} />
        ))}
      </ul>
    </section>
  );
}
