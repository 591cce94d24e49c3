import { memo, useMemo } from 'react';
import { countRender } from '../debug/render-count.ts';
import {
  useActiveLoaded,
  useActiveState,
  useFleet,
  useFleetValue,
  useFleetVersion,
} from '../store/context.tsx';
import type { FleetData } from '../store/fleet-data.ts';
import { Empty, NoCluster, ResourceNotice, VirtualTable } from './common.tsx';

const COLUMNS = [
  'Pool',
  'Type',
  'Ready',
  'Cut off, autonomous',
  'Not ready',
  'Member nodes',
  'Controller reports',
];
/** Past this many, a pool's members are summarised: the Nodes view lists them all. */
const MEMBERS_SHOWN = 8;

const PoolRow = memo(function PoolRow(props: { fleet: FleetData; name: string; index: number }) {
  const { fleet, name } = props;
  countRender('PoolRow');
  const pool = useFleetValue(fleet, [`obj:nodepools:${name}`], (f) => f.get('nodepools', name), undefined);
  const summary = useFleetValue(fleet, [`pool:${name}`], (f) => f.poolSummary(name), undefined);
  const members = useFleetValue(fleet, ['pools'], (f) => f.members(name), [] as string[]);
  const s = summary ?? { members: 0, ready: 0, autonomous: 0, notReady: 0, cordoned: 0 };
  const shown = members.slice(0, MEMBERS_SHOWN).join(', ');
  return (
    <tr aria-rowindex={props.index + 2}>
      <th scope="row">
        {name}
        {pool ? null : <span className="tag warn"> no NodePool object</span>}
      </th>
      <td>{pool ? pool.type : 'unknown'}</td>
      <td data-col="ready" className={s.ready + s.cordoned > 0 ? 'ok' : undefined}>
        {s.ready + s.cordoned}
      </td>
      <td data-col="autonomous" className={s.autonomous > 0 ? 'warn' : undefined}>
        {s.autonomous}
      </td>
      <td data-col="not-ready" className={s.notReady > 0 ? 'bad' : undefined}>
        {s.notReady}
      </td>
      <td data-col="members">
        {shown || '—'}
        {members.length > MEMBERS_SHOWN ? ` … +${members.length - MEMBERS_SHOWN} more` : ''}
      </td>
      <td className="sub">
        {pool?.reported ? `${pool.reported.ready} ready, ${pool.reported.notReady} not ready` : 'no status'}
      </td>
    </tr>
  );
});

export function PoolsView() {
  const loaded = useActiveLoaded();
  const nodepoolsState = useActiveState('nodepools');
  const fleet = useFleet();
  countRender('PoolsView');
  const v = useFleetVersion(fleet, ['kind:nodepools', 'pools']);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `v` is the data version.
  const names = useMemo(() => fleet?.poolNames() ?? [], [fleet, v]);
  if (!loaded || !fleet) return <NoCluster />;
  return (
    <>
      <h2>Node pools</h2>
      <ResourceNotice kind="nodepools" />
      <ResourceNotice kind="nodes" />
      {names.length === 0 ? (
        nodepoolsState?.status === 'syncing' ? null : (
          <Empty>No node pools in this cluster.</Empty>
        )
      ) : (
        <VirtualTable
          label="Node pools"
          columns={COLUMNS}
          keys={names}
          row={(name, index) => <PoolRow key={name} fleet={fleet} name={name} index={index} />}
        />
      )}
    </>
  );
}
