import { memo, useMemo } from 'react';
import { appPools } from '../model/fleet.ts';
import {
  useActiveLoaded,
  useActiveState,
  useFleet,
  useFleetValue,
  useFleetVersion,
} from '../store/context.tsx';
import type { FleetData } from '../store/fleet-data.ts';
import { DataTable, Empty, NoCluster, ResourceNotice } from './common.tsx';

const AppPanel = memo(function AppPanel(props: { fleet: FleetData; appKey: string }) {
  const { fleet, appKey } = props;
  const yas = useFleetValue(
    fleet,
    [`obj:yurtappsets:${appKey}`],
    (f) => f.get('yurtappsets', appKey),
    undefined,
  );
  const v = useFleetVersion(fleet, [`app:${appKey}`, 'kind:nodepools']);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `v` is the data version.
  const pools = useMemo(() => (yas ? appPools(fleet, yas) : []), [fleet, yas, v]);
  if (!yas) return null;
  const ns = yas.namespace ?? 'default';
  const st = yas.status;
  return (
    <section className="panel" aria-label={`App ${ns}/${yas.name}`}>
      <h3>
        {yas.name} <span className="sub">namespace {ns}</span>
        {yas.image ? <span className="sub"> · {yas.image}</span> : null}
      </h3>
      <p className="sub">
        {st?.totalWorkloads !== undefined
          ? `Controller: ${st.readyWorkloads ?? 0} of ${st.totalWorkloads} pool workloads ready`
          : 'No status from a controller yet'}
      </p>
      <DataTable label={`Workloads of ${yas.name}`} columns={['Pool', 'Pods ready', 'Problem']}>
        {pools.map((p) => (
          <tr key={p.pool}>
            <th scope="row">{p.pool}</th>
            <td className={p.pods > 0 && p.readyPods === p.pods ? 'ok' : undefined}>
              {p.readyPods} / {p.pods}
            </td>
            <td className={p.problem ? 'bad' : 'sub'}>{p.problem ?? '—'}</td>
          </tr>
        ))}
      </DataTable>
    </section>
  );
});

export function AppsView() {
  const loaded = useActiveLoaded();
  const yurtappsetsState = useActiveState('yurtappsets');
  const fleet = useFleet();
  const v = useFleetVersion(fleet, ['kind:yurtappsets']);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `v` is the data version.
  const keys = useMemo(() => fleet?.keys('yurtappsets') ?? [], [fleet, v]);
  if (!loaded || !fleet) return <NoCluster />;
  return (
    <>
      <h2>Apps per pool</h2>
      <ResourceNotice kind="yurtappsets" />
      <ResourceNotice kind="pods" />
      {keys.length === 0 ? (
        yurtappsetsState?.status === 'syncing' ? null : (
          <Empty>No YurtAppSets in this cluster.</Empty>
        )
      ) : (
        keys.map((k) => <AppPanel key={k} fleet={fleet} appKey={k} />)
      )}
    </>
  );
}
