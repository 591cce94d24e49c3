import { useMemo } from 'react';
import { appRows } from '../model/fleet.ts';
import { useActiveSnapshot } from '../store/context.tsx';
import { DataTable, Empty, NoCluster, ResourceNotice } from './common.tsx';

export function AppsView() {
  const snap = useActiveSnapshot();
  const apps = useMemo(() => (snap ? appRows(snap) : []), [snap]);
  if (!snap) return <NoCluster />;
  return (
    <>
      <h2>Apps per pool</h2>
      <ResourceNotice snap={snap} kind="yurtappsets" />
      <ResourceNotice snap={snap} kind="pods" />
      {apps.length === 0 ? (
        <Empty>No YurtAppSets in this cluster.</Empty>
      ) : (
        apps.map((a) => (
          <section
            key={`${a.namespace}/${a.name}`}
            className="panel"
            aria-label={`App ${a.namespace}/${a.name}`}
          >
            <h3>
              {a.name} <span className="sub">namespace {a.namespace}</span>
            </h3>
            <p className="sub">
              {a.totalWorkloads !== undefined
                ? `Controller: ${a.readyWorkloads ?? 0} of ${a.totalWorkloads} pool workloads ready`
                : 'No status from a controller yet'}
            </p>
            <DataTable label={`Workloads of ${a.name}`} columns={['Pool', 'Pods ready']}>
              {a.pools.map((p) => (
                <tr key={p.pool}>
                  <th scope="row">{p.pool}</th>
                  <td className={p.pods > 0 && p.readyPods === p.pods ? 'ok' : undefined}>
                    {p.readyPods} / {p.pods}
                  </td>
                </tr>
              ))}
            </DataTable>
          </section>
        ))
      )}
    </>
  );
}
