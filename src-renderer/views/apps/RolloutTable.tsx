import { ROLLOUT_STATE_TEXT, type Rollout } from '../../model/rollout.ts';
import { DataTable } from '../common.tsx';

const STATE_CLASS = { updated: 'ok', 'paused-here': 'bad', held: 'warn', 'held-by-pause': 'warn' } as Record<
  string,
  string
>;

/** Per pool: the image it should run, pods updated and ready, and where the rollout stands. */
export function RolloutTable(props: { name: string; rollout: Rollout }) {
  return (
    <DataTable
      label={`Workloads of ${props.name}`}
      columns={['Pool', 'Pods ready', 'Updated', 'Rollout', 'Image', 'Problem']}
    >
      {props.rollout.pools.map((p) => (
        <tr key={p.pool} data-pool={p.pool} data-state={p.state}>
          <th scope="row">{p.pool}</th>
          <td data-col="ready" className={p.pods > 0 && p.readyPods === p.pods ? 'ok' : undefined}>
            {p.readyPods} / {p.pods}
          </td>
          <td data-col="updated">
            <span className="bar small" aria-hidden="true">
              <span style={{ width: `${p.pods ? (100 * p.updatedPods) / p.pods : 0}%` }} />
            </span>{' '}
            {p.updatedPods} / {p.pods}
          </td>
          <td data-col="rollout" className={STATE_CLASS[p.state]}>
            {ROLLOUT_STATE_TEXT[p.state]}
          </td>
          <td className="mono">{p.image ?? '—'}</td>
          <td data-col="problem" className={p.problem ? 'bad' : 'sub'}>
            {p.problem ?? '—'}
          </td>
        </tr>
      ))}
    </DataTable>
  );
}
