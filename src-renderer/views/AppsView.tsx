import { memo, useMemo, useState } from 'react';
import { appPools } from '../model/fleet.ts';
import { rollout } from '../model/rollout.ts';
import {
  useActiveLoaded,
  useActiveState,
  useFleet,
  useFleetValue,
  useFleetVersion,
} from '../store/context.tsx';
import type { FleetData } from '../store/fleet-data.ts';
import { AppForm } from './apps/AppForm.tsx';
import { AppYaml } from './apps/AppYaml.tsx';
import { ImageChange } from './apps/ImageChange.tsx';
import { PauseRollout } from './apps/PauseRollout.tsx';
import { RolloutTable } from './apps/RolloutTable.tsx';
import { Empty, NoCluster, ResourceNotice } from './common.tsx';
import { ActionButton } from './fleet/ActionButton.tsx';

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
  const state = useMemo(() => (yas ? rollout(yas, appPools(fleet, yas)) : null), [fleet, yas, v]);
  if (!yas || !state) return null;
  const ns = yas.namespace ?? 'default';
  const st = yas.status;
  return (
    <section className="panel" aria-label={`App ${ns}/${yas.name}`} id={`app-${ns}-${yas.name}`}>
      <h3>
        {yas.name} <span className="sub">namespace {ns}</span>
        {yas.image ? <span className="sub"> · {yas.image}</span> : null}
      </h3>
      <p className={state.paused ? 'bad' : state.held ? 'warn' : 'sub'} data-field="rollout">
        {st?.totalWorkloads !== undefined
          ? `Controller: ${st.readyWorkloads ?? 0} of ${st.totalWorkloads} pool workloads ready, ${st.updatedWorkloads ?? 0} updated`
          : 'No status from a controller yet'}
        {state.summary ? ` — ${state.summary}` : ''}
      </p>
      <RolloutTable name={yas.name} rollout={state} />
      <PauseRollout namespace={ns} name={yas.name} pauseRequested={yas.pauseRequested === true} />
      <ImageChange
        key={yas.image}
        namespace={ns}
        name={yas.name}
        {...(yas.image ? { image: yas.image } : {})}
      />
    </section>
  );
});

function NewApp(props: { fleet: FleetData }) {
  const [mode, setMode] = useState<'form' | 'yaml' | null>(null);
  const v = useFleetVersion(props.fleet, ['kind:nodepools', 'pools']);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `v` is the data version.
  const pools = useMemo(() => props.fleet.poolNames(), [props.fleet, v]);
  return (
    <>
      <div className="toolbar">
        <ActionButton action="yurtappsets:create" onClick={() => setMode(mode === 'form' ? null : 'form')}>
          New app from a form…
        </ActionButton>
        <ActionButton
          action="yurtappsets:create"
          quiet
          className="secondary"
          onClick={() => setMode(mode === 'yaml' ? null : 'yaml')}
        >
          New app from YAML…
        </ActionButton>
      </div>
      {mode === 'form' ? <AppForm pools={pools} /> : null}
      {mode === 'yaml' ? <AppYaml /> : null}
    </>
  );
}

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
      <NewApp fleet={fleet} />
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
