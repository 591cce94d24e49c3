import { useMemo } from 'react';
import { poolRows } from '../model/fleet.ts';
import { useActiveSnapshot } from '../store/context.tsx';
import { DataTable, Empty, NoCluster, ResourceNotice } from './common.tsx';

export function PoolsView() {
  const snap = useActiveSnapshot();
  const pools = useMemo(() => (snap ? poolRows(snap) : []), [snap]);
  if (!snap) return <NoCluster />;
  return (
    <>
      <h2>Node pools</h2>
      <ResourceNotice snap={snap} kind="nodepools" />
      <ResourceNotice snap={snap} kind="nodes" />
      {pools.length === 0 ? (
        <Empty>No node pools in this cluster.</Empty>
      ) : (
        <DataTable
          label="Node pools"
          columns={['Pool', 'Type', 'Ready', 'Not ready', 'Member nodes', 'Controller reports']}
        >
          {pools.map((p) => (
            <tr key={p.name}>
              <th scope="row">
                {p.name}
                {p.orphan ? <span className="tag warn"> no NodePool object</span> : null}
              </th>
              <td>{p.type}</td>
              <td data-col="ready" className={p.ready > 0 ? 'ok' : undefined}>
                {p.ready}
              </td>
              <td data-col="not-ready" className={p.notReady > 0 ? 'bad' : undefined}>
                {p.notReady}
              </td>
              <td data-col="members">{p.members.map((m) => m.name).join(', ') || '—'}</td>
              <td className="sub">
                {p.reported ? `${p.reported.ready} ready, ${p.reported.notReady} not ready` : 'no status'}
              </td>
            </tr>
          ))}
        </DataTable>
      )}
    </>
  );
}
