import { autonomySetting, nodeHealthText } from '../../../src-main/ipc/node-health.ts';
import type { NodeWire } from '../../../src-main/ipc/types.ts';
import { age } from '../../model/fleet.ts';
import { useApp, useFleet, useFleetValue } from '../../store/context.tsx';
import { useFleetUi } from '../../store/fleet-context.tsx';
import { type FleetData, poolOfNode } from '../../store/fleet-data.ts';
import { DataTable, NoCluster } from '../common.tsx';
import { HubReport } from './HubReport.tsx';
import { NodeActions } from './NodeActions.tsx';
import { NodeEvents } from './NodeEvents.tsx';
import { NodePods } from './NodePods.tsx';
import { NodeServiceLogs } from './NodeServiceLogs.tsx';
import { PodPanel } from './PodPanel.tsx';

function Conditions(props: { node: NodeWire }) {
  const now = useApp((s) => s.now);
  return (
    <DataTable label="Conditions" columns={['Condition', 'Status', 'Reason', 'Since', 'Reported']}>
      {props.node.conditions.map((c) => (
        <tr key={c.type} data-condition={c.type}>
          <th scope="row">{c.type}</th>
          <td
            className={(c.type === 'Ready' || c.type === 'Autonomy') === (c.status === 'True') ? 'ok' : 'bad'}
          >
            {c.status}
          </td>
          <td>
            {c.reason ?? '—'}
            {c.message ? <div className="sub">{c.message}</div> : null}
          </td>
          <td>{c.since ? `${age(c.since, now)} ago` : '—'}</td>
          <td>{c.heartbeat ? `${age(c.heartbeat, now)} ago` : '—'}</td>
        </tr>
      ))}
    </DataTable>
  );
}

function Facts(props: { fleet: FleetData; node: NodeWire }) {
  const { node } = props;
  const now = useApp((s) => s.now);
  const hb = useFleetValue(props.fleet, [`hb:${node.name}`], (f) => f.heartbeats.get(node.name), undefined);
  const auto = node.conditions.find((c) => c.type === 'Autonomy');
  return (
    <dl className="facts">
      <dt>State</dt>
      <dd data-field="state">{nodeHealthText(node)}</dd>
      <dt>Pool</dt>
      <dd data-field="pool">{poolOfNode(node) || '—'}</dd>
      <dt>Autonomy</dt>
      <dd data-field="autonomy">
        {autonomySetting(node) ?? 'off'}
        {auto
          ? ` — hub reports Autonomy=${auto.status}${auto.reason ? ` (${auto.reason})` : ''}`
          : ' — no hub reports Autonomy here, so it would not work'}
      </dd>
      <dt>Last heartbeat</dt>
      <dd data-field="heartbeat">{hb ? `${age(hb, now)} ago` : 'unknown'}</dd>
      <dt>Kubelet</dt>
      <dd>{node.kubeletVersion ?? '—'}</dd>
      <dt>Arch / OS</dt>
      <dd>
        {node.arch || '—'} / {node.osImage || node.os || '—'}
      </dd>
      <dt>Runtime</dt>
      <dd>{node.containerRuntime ?? '—'}</dd>
      <dt>Addresses</dt>
      <dd className="mono">{node.addresses?.map((a) => `${a.type} ${a.address}`).join(', ') || '—'}</dd>
    </dl>
  );
}

function LabelsAndTaints(props: { node: NodeWire }) {
  const labels = Object.entries(props.node.labels ?? {});
  return (
    <div className="two-col">
      <DataTable label="Labels" columns={['Label', 'Value']}>
        {labels.map(([k, v]) => (
          <tr key={k}>
            <th scope="row" className="mono">
              {k}
            </th>
            <td className="mono">{v}</td>
          </tr>
        ))}
      </DataTable>
      <DataTable label="Taints" columns={['Taint', 'Value', 'Effect']}>
        {(props.node.taints ?? []).map((t) => (
          <tr key={`${t.key}:${t.effect}`}>
            <th scope="row" className="mono">
              {t.key}
            </th>
            <td className="mono">{t.value ?? ''}</td>
            <td>{t.effect}</td>
          </tr>
        ))}
      </DataTable>
    </div>
  );
}

/** Everything about one node and what can be done to it; opened from the tables, topology and palette. */
export function NodePage() {
  const fleet = useFleet();
  const name = useFleetUi((s) => s.nodePage);
  const openNode = useFleetUi((s) => s.openNode);
  const podView = useFleetUi((s) => s.podView);
  const n = useFleetValue(
    fleet,
    [`obj:nodes:${name}`],
    (f) => (name ? f.get('nodes', name) : undefined),
    undefined,
  );
  if (!fleet) return <NoCluster />;
  return (
    <>
      <p>
        <button type="button" className="link" onClick={() => openNode(null)}>
          ← Back
        </button>
      </p>
      <h2>Node {name}</h2>
      {!n || !name ? (
        <p className="notice">Node {name} is not in this cluster (any more).</p>
      ) : (
        <div className="node-page">
          <section className="panel" aria-label="Node facts">
            <Facts fleet={fleet} node={n} />
          </section>
          <NodeActions node={n} />
          <section className="panel wide" aria-label="Hub report">
            <h3>Hub report</h3>
            <HubReport node={n} />
          </section>
          <section className="panel wide" aria-label="Conditions">
            <h3>Conditions</h3>
            <Conditions node={n} />
          </section>
          <section className="panel wide" aria-label="Pods">
            <h3>Pods</h3>
            <NodePods fleet={fleet} node={name} />
          </section>
          {podView ? <PodPanel fleet={fleet} podKey={podView.key} mode={podView.mode} /> : null}
          <NodeServiceLogs node={name} />
          <NodeEvents fleet={fleet} node={name} />
          <section className="panel wide" aria-label="Labels and taints">
            <h3>Labels and taints</h3>
            <LabelsAndTaints node={n} />
          </section>
        </div>
      )}
    </>
  );
}
