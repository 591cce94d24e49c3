import { memo, useMemo } from 'react';
import { useFleetValue, useFleetVersion } from '../../store/context.tsx';
import { useFleetUi } from '../../store/fleet-context.tsx';
import { compareNames, type FleetData } from '../../store/fleet-data.ts';
import { DataTable, Empty } from '../common.tsx';
import { ActionButton } from '../fleet/ActionButton.tsx';

const PodRow = memo(function PodRow(props: { fleet: FleetData; podKey: string }) {
  const p = useFleetValue(
    props.fleet,
    [`obj:pods:${props.podKey}`],
    (f) => f.get('pods', props.podKey),
    undefined,
  );
  const openPod = useFleetUi((s) => s.openPod);
  const current = useFleetUi((s) => s.podView?.key === props.podKey);
  if (!p) return null;
  return (
    <tr data-pod={props.podKey} aria-current={current ? 'true' : undefined}>
      <th scope="row">
        {p.name} <span className="sub">{p.namespace}</span>
      </th>
      <td className={p.ready ? 'ok' : p.reason ? 'bad' : undefined}>
        {p.ready ? 'Ready' : (p.reason ?? p.phase ?? 'unknown')}
      </td>
      <td>{p.restarts}</td>
      <td className="sub">{p.owner ? `${p.owner.kind}/${p.owner.name}` : 'none'}</td>
      <td className="mono">{p.image ?? '—'}</td>
      <td className="row-actions">
        <ActionButton
          action="pods:log"
          quiet
          className="secondary"
          label={`Logs of ${p.name}`}
          onClick={() => openPod({ key: props.podKey, mode: 'logs' })}
        >
          Logs
        </ActionButton>
        <ActionButton
          action="pods:exec"
          quiet
          className="secondary"
          label={`Shell in ${p.name}`}
          onClick={() => openPod({ key: props.podKey, mode: 'shell' })}
        >
          Shell
        </ActionButton>
      </td>
    </tr>
  );
});

/** The node's pods, from the podsByNode index (only this node's keys, each row its own subscription). */
export function NodePods(props: { fleet: FleetData; node: string }) {
  const v = useFleetVersion(props.fleet, [`podsOf:${props.node}`]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `v` is the data version.
  const keys = useMemo(
    () => [...(props.fleet.podsByNode.get(props.node) ?? [])].sort(compareNames),
    [props.fleet, props.node, v],
  );
  if (keys.length === 0) return <Empty>No pods on this node.</Empty>;
  return (
    <DataTable
      label={`Pods on ${props.node}`}
      columns={['Pod', 'State', 'Restarts', 'Owner', 'Image', { label: 'Logs and shell', hidden: true }]}
    >
      {keys.map((k) => (
        <PodRow key={k} fleet={props.fleet} podKey={k} />
      ))}
    </DataTable>
  );
}
