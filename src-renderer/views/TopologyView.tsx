import { useMemo } from 'react';
import { nodeRows, poolRows } from '../model/fleet.ts';
import { useActiveSnapshot } from '../store/context.tsx';
import { NoCluster, ResourceNotice } from './common.tsx';

/** Pools as boxes, nodes as chips inside: the fleet at a glance. */
export function TopologyView() {
  const snap = useActiveSnapshot();
  const pools = useMemo(() => (snap ? poolRows(snap) : []), [snap]);
  const unpooled = useMemo(() => (snap ? nodeRows(snap).filter((n) => !n.pool) : []), [snap]);
  if (!snap) return <NoCluster />;
  const groups = [
    ...pools.map((p) => ({ key: p.name, title: p.name, type: p.type, nodes: p.members })),
    ...(unpooled.length > 0 ? [{ key: '', title: 'Not in a pool', type: '', nodes: unpooled }] : []),
  ];
  return (
    <>
      <h2>Topology</h2>
      <ResourceNotice snap={snap} kind="nodes" />
      <div className="topology">
        {groups.map((g) => (
          <section key={g.key} className="pool-box" aria-label={`Pool ${g.title}`}>
            <h3>
              {g.title} {g.type ? <span className="tag">{g.type}</span> : null}
            </h3>
            <ul aria-label={`Nodes in ${g.title}`}>
              {g.nodes.map((n) => (
                <li key={n.name} className={n.ready ? 'chip ready' : 'chip unready'}>
                  <span aria-hidden="true" className="dot" />
                  {n.name}
                  <span className="sr-only">{n.ready ? ' ready' : ' not ready'}</span>
                  {n.autonomy ? <span className="chip-note"> autonomy</span> : null}
                </li>
              ))}
              {g.nodes.length === 0 ? <li className="chip none">no nodes</li> : null}
            </ul>
          </section>
        ))}
      </div>
    </>
  );
}
