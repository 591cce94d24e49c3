import { useMemo } from 'react';
import { nodeRows } from '../model/fleet.ts';
import { useActiveSnapshot } from '../store/context.tsx';
import { DataTable, Empty, NoCluster, ResourceNotice } from './common.tsx';

export function NodesView() {
  const snap = useActiveSnapshot();
  const nodes = useMemo(() => (snap ? nodeRows(snap) : []), [snap]);
  if (!snap) return <NoCluster />;
  return (
    <>
      <h2>Nodes</h2>
      <ResourceNotice snap={snap} kind="nodes" />
      {nodes.length === 0 ? (
        <Empty>No nodes.</Empty>
      ) : (
        <DataTable label="Nodes" columns={['Node', 'Ready', 'Pool', 'Autonomy', 'Edge worker']}>
          {nodes.map((n) => (
            <tr key={n.name}>
              <th scope="row">{n.name}</th>
              <td className={n.ready ? 'ok' : 'bad'}>{n.ready ? 'Ready' : 'Not ready'}</td>
              <td>{n.pool ?? '—'}</td>
              <td>{n.autonomy ?? 'off'}</td>
              <td>{n.edge ? 'yes' : 'no'}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </>
  );
}
