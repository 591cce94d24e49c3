import { memo, useMemo, useState } from 'react';
import { LABEL_REGION, LABEL_SITE, LABEL_ZONE } from '../../src-main/ipc/edge-api.ts';
import {
  autonomySetting,
  condition,
  NODE_HEALTH_TEXT,
  type NodeHealth,
  nodeHealthText,
} from '../../src-main/ipc/node-health.ts';
import { countRender } from '../debug/render-count.ts';
import { age } from '../model/fleet.ts';
import { SCOPE_TEXT, serviceTopology } from '../model/service-topology.ts';
import {
  useActiveConnection,
  useActiveLoaded,
  useActiveState,
  useApp,
  useFleet,
  useFleetValue,
  useFleetVersion,
} from '../store/context.tsx';
import { appOfPod, type FleetData, poolOfNode } from '../store/fleet-data.ts';
import {
  DataTable,
  Empty,
  HealthFilter,
  NODE_HEALTHS,
  NoCluster,
  ResourceNotice,
  VirtualTable,
} from './common.tsx';
import { HEALTH_COLOR } from './topology/colors.ts';
import { FleetGraph, type GraphFilter } from './topology/FleetGraph.tsx';
import { layoutFleet } from './topology/layout.ts';

const UNPOOLED = 'Not in a pool';

/** A pool's site: our site label, else its region, else the zone it puts on its nodes. */
function siteOf(fleet: FleetData, pool: string): string {
  const np = fleet.get('nodepools', pool);
  const labels = np?.labels ?? {};
  return labels[LABEL_SITE] ?? labels[LABEL_REGION] ?? np?.nodeLabels?.[LABEL_ZONE] ?? '';
}

function Legend() {
  return (
    <ul className="legend" aria-label="Legend">
      {NODE_HEALTHS.map((h) => (
        <li key={h}>
          <span className="dot" style={{ background: HEALTH_COLOR[h] }} aria-hidden="true" />
          {NODE_HEALTH_TEXT[h]}
        </li>
      ))}
    </ul>
  );
}

const PoolSummaryRow = memo(function PoolSummaryRow(props: {
  fleet: FleetData;
  name: string;
  onOpen: (p: string) => void;
}) {
  const s = useFleetValue(props.fleet, [`pool:${props.name}`], (f) => f.poolSummary(props.name), undefined);
  const site = siteOf(props.fleet, props.name);
  return (
    <tr>
      <th scope="row">
        <button type="button" className="link" onClick={() => props.onOpen(props.name)}>
          {props.name || UNPOOLED}
        </button>
      </th>
      <td>{site || '—'}</td>
      <td data-col="members">{s?.members ?? 0}</td>
      <td data-col="ready">{s?.ready ?? 0}</td>
      <td data-col="autonomous">{s?.autonomous ?? 0}</td>
      <td data-col="not-ready">{s?.notReady ?? 0}</td>
      <td data-col="cordoned">{s?.cordoned ?? 0}</td>
    </tr>
  );
});

function NodePanel(props: { fleet: FleetData; name: string; onOpen?: (node: string) => void }) {
  const { fleet, name } = props;
  const now = useApp((s) => s.now);
  const n = useFleetValue(fleet, [`obj:nodes:${name}`], (f) => f.get('nodes', name), undefined);
  const hb = useFleetValue(fleet, [`hb:${name}`], (f) => f.heartbeats.get(name), undefined);
  const pv = useFleetVersion(fleet, [`podsOf:${name}`]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `pv` is the data version.
  const byApp = useMemo(() => {
    const groups = new Map<string, { total: number; ready: number }>();
    for (const k of fleet.podsByNode.get(name) ?? []) {
      const p = fleet.get('pods', k);
      if (!p) continue;
      const app = appOfPod(p) ?? `${p.namespace}/${p.owner ? `${p.owner.kind}/${p.owner.name}` : p.name}`;
      const g = groups.get(app) ?? { total: 0, ready: 0 };
      g.total++;
      if (p.ready) g.ready++;
      groups.set(app, g);
    }
    return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b));
  }, [fleet, name, pv]);
  if (!n) return <p className="sub">Node {name} is gone.</p>;
  const ready = condition(n, 'Ready');
  const auto = condition(n, 'Autonomy');
  return (
    <section className="panel" aria-label={`Node ${name}`}>
      <h3>
        {name}{' '}
        {props.onOpen ? (
          <button type="button" className="link" onClick={() => props.onOpen?.(name)}>
            Open node page
          </button>
        ) : null}
      </h3>
      <dl className="facts">
        <dt>State</dt>
        <dd data-field="state">{nodeHealthText(n)}</dd>
        <dt>Pool</dt>
        <dd>{poolOfNode(n) || '—'}</dd>
        <dt>Ready</dt>
        <dd>
          {ready
            ? `${ready.status}${ready.reason ? ` (${ready.reason})` : ''} since ${age(ready.since, now)}`
            : 'unknown'}
        </dd>
        <dt>Autonomy</dt>
        <dd>
          {autonomySetting(n) ?? 'off'}
          {auto
            ? ` — hub reports ${auto.status}${auto.reason ? ` (${auto.reason})` : ''}`
            : ' — no hub report'}
        </dd>
        <dt>Last heartbeat</dt>
        <dd>{hb ? `${age(hb, now)} ago` : 'unknown'}</dd>
        <dt>Kubelet</dt>
        <dd>
          {n.kubeletVersion ?? '—'} {n.arch ? `· ${n.arch}` : ''}
        </dd>
      </dl>
      <DataTable label={`Pods on ${name} by app`} columns={['App', 'Pods ready']}>
        {byApp.map(([app, g]) => (
          <tr key={app}>
            <th scope="row">{app}</th>
            <td>
              {g.ready} / {g.total}
            </td>
          </tr>
        ))}
      </DataTable>
    </section>
  );
}

function PoolPanel(props: { fleet: FleetData; pool: string; onNode: (n: string) => void }) {
  const { fleet, pool } = props;
  const members = useFleetValue(fleet, ['pools'], (f) => f.members(pool), [] as string[]);
  const hv = useFleetVersion(fleet, [`pool:${pool}`]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `hv` is the data version.
  const byState = useMemo(() => {
    const out = new Map<NodeHealth, string[]>();
    for (const m of members) {
      const h = fleet.nodeHealth(m) ?? 'not-ready';
      out.set(h, [...(out.get(h) ?? []), m]);
    }
    return out;
  }, [fleet, members, hv]);
  return (
    <section className="panel" aria-label={`Pool ${pool || UNPOOLED}`}>
      <h3>Pool {pool || UNPOOLED}</h3>
      {NODE_HEALTHS.filter((h) => byState.has(h)).map((h) => (
        <div key={h}>
          <h4>
            {NODE_HEALTH_TEXT[h]} ({byState.get(h)?.length})
          </h4>
          <ul className="chips">
            {(byState.get(h) ?? []).slice(0, 60).map((m) => (
              <li key={m}>
                <button type="button" className={`chip health-${h}`} onClick={() => props.onNode(m)}>
                  {m}
                </button>
              </li>
            ))}
            {(byState.get(h)?.length ?? 0) > 60 ? (
              <li className="sub">… and {(byState.get(h)?.length ?? 0) - 60} more</li>
            ) : null}
          </ul>
        </div>
      ))}
    </section>
  );
}

function ServiceOverlay(props: { fleet: FleetData; service: string }) {
  const v = useFleetVersion(props.fleet, [`svc:${props.service}`, 'pools']);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `v` is the data version.
  const topo = useMemo(() => serviceTopology(props.fleet, props.service), [props.fleet, props.service, v]);
  return (
    <section className="panel" aria-label={`Service ${props.service}`}>
      <h3>
        Service {props.service} <span className="sub">— {SCOPE_TEXT[topo.scope]}</span>
      </h3>
      <DataTable
        label="Service endpoints per pool"
        columns={['Pool', 'Endpoints ready', 'Nodes with endpoints']}
      >
        {topo.pools
          .filter((p) => p.total > 0 || topo.scope === 'pool')
          .map((p) => (
            <tr key={p.pool}>
              <th scope="row">{p.pool}</th>
              <td data-col="endpoints" className={p.total === 0 ? 'bad' : undefined}>
                {p.total === 0 ? 'none — clients here get no endpoint' : `${p.ready} / ${p.total}`}
              </td>
              <td data-col="nodes">{p.nodes.sort().join(', ') || '—'}</td>
            </tr>
          ))}
      </DataTable>
    </section>
  );
}

export function TopologyView(props: { onOpenNode?: (node: string) => void } = {}) {
  const loaded = useActiveLoaded();
  const connection = useActiveConnection();
  const nodesState = useActiveState('nodes');
  const fleet = useFleet();
  countRender('TopologyView');
  const [pool, setPool] = useState('');
  const [health, setHealth] = useState<NodeHealth | ''>('');
  const [text, setText] = useState('');
  const [service, setService] = useState('');
  const [selected, setSelected] = useState<{ node: string } | { pool: string } | null>(null);
  const [focus, setFocus] = useState<string | null>(null);
  const layoutVersion = useFleetVersion(fleet, ['kind:nodes', 'pools', 'kind:nodepools']);
  const healthVersion = useFleetVersion(fleet, ['health', 'pools']);
  const svcVersion = useFleetVersion(fleet, ['kind:services', service ? `svc:${service}` : 'kind:services']);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `layoutVersion` is the data version.
  const pools = useMemo(
    () => (fleet ? [...fleet.poolNames(), ...(fleet.members('').length ? [''] : [])] : []),
    [fleet, layoutVersion],
  );
  // biome-ignore lint/correctness/useExhaustiveDependencies: `layoutVersion` is the data version.
  const layout = useMemo(
    () =>
      layoutFleet(
        pools.map((p) => ({ name: p, site: fleet ? siteOf(fleet, p) : '', nodes: fleet?.members(p) ?? [] })),
      ),
    [pools, fleet, layoutVersion],
  );
  // biome-ignore lint/correctness/useExhaustiveDependencies: `svcVersion` is the data version.
  const services = useMemo(() => {
    if (!fleet) return [];
    // Services with a topology first: those are the ones whose traffic stays somewhere.
    const all = fleet.keys('services').filter((k) => (fleet.slicesByService.get(k)?.size ?? 0) > 0);
    return all.sort(
      (a, b) =>
        Number(!fleet.get('services', a)?.topologyKeys) - Number(!fleet.get('services', b)?.topologyKeys),
    );
  }, [fleet, svcVersion]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `svcVersion` is the data version.
  const filter: GraphFilter = useMemo(
    () => ({
      pool,
      health,
      text,
      highlight: service && fleet ? serviceTopology(fleet, service).endpointNodes : null,
    }),
    [pool, health, text, service, fleet, svcVersion],
  );
  if (!loaded || !fleet) return <NoCluster />;
  const total = fleet.objects.nodes.size;
  const selectedNode = selected && 'node' in selected ? selected.node : null;
  const search = (q: string) => {
    setText(q);
    const hit = q && fleet.get('nodes', q) ? q : undefined;
    if (hit) {
      setSelected({ node: hit });
      setFocus(hit);
    }
  };
  return (
    <>
      <h2>Topology</h2>
      <ResourceNotice kind="nodes" />
      <ResourceNotice kind="nodepools" />
      {connection && connection.state !== 'connected' ? (
        <p className="notice notice-stale" role="status">
          Showing last-known data from {age(connection.lastContactAt, Date.now())} ago; nodes may have changed
          since.
        </p>
      ) : null}
      <div className="toolbar">
        <label>
          Find
          <input
            type="search"
            value={text}
            placeholder="node name, label or key=value"
            onChange={(e) => search(e.target.value)}
          />
        </label>
        <label>
          Pool
          <select value={pool} onChange={(e) => setPool(e.target.value)}>
            <option value="">All pools</option>
            {pools.filter(Boolean).map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
        <HealthFilter value={health} onChange={setHealth} />
        <label>
          Service overlay
          <select value={service} onChange={(e) => setService(e.target.value)}>
            <option value="">None</option>
            {services.map((s) => (
              <option key={s} value={s}>
                {s}
                {fleet.get('services', s)?.topologyKeys ? ` (${fleet.get('services', s)?.topologyKeys})` : ''}
              </option>
            ))}
          </select>
        </label>
      </div>
      <Legend />
      {total === 0 ? (
        nodesState?.status === 'syncing' ? null : (
          <Empty>No nodes in this cluster yet.</Empty>
        )
      ) : (
        <div className="topology-grid">
          <FleetGraph
            fleet={fleet}
            layout={layout}
            healthVersion={healthVersion}
            filter={filter}
            selected={selectedNode}
            focus={focus}
            onSelect={(s) => {
              setSelected(s);
              setFocus(null);
            }}
          />
          <aside className="topology-side">
            {service ? <ServiceOverlay fleet={fleet} service={service} /> : null}
            {selected && 'node' in selected ? (
              <NodePanel
                fleet={fleet}
                name={selected.node}
                {...(props.onOpenNode ? { onOpen: props.onOpenNode } : {})}
              />
            ) : null}
            {selected && 'pool' in selected ? (
              <PoolPanel fleet={fleet} pool={selected.pool} onNode={(n) => setSelected({ node: n })} />
            ) : null}
            {!selected && !service ? (
              <p className="sub">Click a pool or a node, or find one by name.</p>
            ) : null}
          </aside>
        </div>
      )}
      <h3>Pools at a glance</h3>
      <VirtualTable
        label="Pools at a glance"
        height="320px"
        columns={['Pool', 'Site', 'Nodes', ...NODE_HEALTHS.map((h) => NODE_HEALTH_TEXT[h])]}
        keys={pools}
        row={(p) => (
          <PoolSummaryRow key={p || '~'} fleet={fleet} name={p} onOpen={(x) => setSelected({ pool: x })} />
        )}
      />
    </>
  );
}
