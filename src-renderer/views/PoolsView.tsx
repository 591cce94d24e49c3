import { memo, useCallback, useMemo, useState } from 'react';
import { countRender } from '../debug/render-count.ts';
import {
  useActiveLoaded,
  useActiveState,
  useFleet,
  useFleetValue,
  useFleetVersion,
} from '../store/context.tsx';
import { actionKey } from '../store/fleet-actions.ts';
import { useFleetActions } from '../store/fleet-context.tsx';
import type { FleetData } from '../store/fleet-data.ts';
import { type Column, Empty, NoCluster, ResourceNotice, VirtualTable } from './common.tsx';
import { ActionButton } from './fleet/ActionButton.tsx';
import { ActionOutcome } from './fleet/ActionOutcome.tsx';
import { AutonomyControl } from './fleet/AutonomyControl.tsx';
import { PoolForm } from './fleet/PoolForm.tsx';

const COLUMNS: Column[] = [
  'Pool',
  'Type',
  'Ready',
  'Cut off, autonomous',
  'Not ready',
  'Member nodes',
  'Controller reports',
  { label: 'Actions', hidden: true },
];

type Panel = { pool: string; mode: 'edit' | 'autonomy' } | null;
/** Past this many, a pool's members are summarised: the Nodes view lists them all. */
const MEMBERS_SHOWN = 8;

const PoolRow = memo(function PoolRow(props: {
  fleet: FleetData;
  name: string;
  index: number;
  onPanel: (p: Panel) => void;
  onDelete: (pool: string) => void;
}) {
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
      <td className="sub" data-col="reported">
        {pool?.reported ? `${pool.reported.ready} ready, ${pool.reported.notReady} not ready` : 'no status'}
      </td>
      <td className="row-actions">
        {pool ? (
          <>
            <ActionButton
              quiet
              action="nodepools:edit"
              label={`Edit pool ${name}`}
              onClick={() => props.onPanel({ pool: name, mode: 'edit' })}
            >
              Edit
            </ActionButton>
            <ActionButton
              quiet
              action="nodes:autonomy"
              label={`Autonomy for pool ${name}`}
              onClick={() => props.onPanel({ pool: name, mode: 'autonomy' })}
            >
              Autonomy
            </ActionButton>
            <ActionButton
              quiet
              action="nodepools:delete"
              className="danger"
              label={`Delete pool ${name}`}
              onClick={() => props.onDelete(name)}
            >
              Delete
            </ActionButton>
          </>
        ) : null}
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
  const [panel, setPanel] = useState<Panel>(null);
  const [creating, setCreating] = useState(false);
  const [deleted, setDeleted] = useState<string | null>(null);
  const deletePool = useFleetActions((s) => s.deletePool);
  const onDelete = useCallback(
    (pool: string) => {
      setDeleted(pool);
      void deletePool(pool);
    },
    [deletePool],
  );
  if (!loaded || !fleet) return <NoCluster />;
  const panelPool = panel ? fleet.get('nodepools', panel.pool) : undefined;
  return (
    <>
      <h2>Node pools</h2>
      <ResourceNotice kind="nodepools" />
      <ResourceNotice kind="nodes" />
      <div className="toolbar">
        <ActionButton action="nodepools:create" onClick={() => setCreating(!creating)}>
          {creating ? 'Hide the form' : 'New pool…'}
        </ActionButton>
        <span className="sub">Assign nodes on the Nodes page: select them, or drag them onto a pool.</span>
      </div>
      {creating ? <PoolForm /> : null}
      {deleted ? (
        <ActionOutcome statusKey={actionKey.poolDelete(deleted)} busyText={`Deleting ${deleted}…`} />
      ) : null}
      {panel?.mode === 'edit' && panelPool ? (
        <PoolForm key={panel.pool} pool={panelPool} onDone={() => setPanel(null)} />
      ) : null}
      {panel?.mode === 'autonomy' ? (
        <div className="panel">
          <AutonomyControl target={{ pool: panel.pool }} title={`Autonomy for every node of ${panel.pool}`} />
          <button type="button" className="secondary" onClick={() => setPanel(null)}>
            Close
          </button>
        </div>
      ) : null}
      {names.length === 0 ? (
        nodepoolsState?.status === 'syncing' ? null : (
          <Empty>No node pools in this cluster.</Empty>
        )
      ) : (
        <VirtualTable
          label="Node pools"
          columns={COLUMNS}
          keys={names}
          row={(name, index) => (
            <PoolRow
              key={name}
              fleet={fleet}
              name={name}
              index={index}
              onPanel={setPanel}
              onDelete={onDelete}
            />
          )}
        />
      )}
    </>
  );
}
