import { useMemo } from 'react';
import type { DrainInfo, DrainPodStatus, DrainState } from '../../../src-main/ipc/fleet-types.ts';
import { useFleetActions } from '../../store/fleet-context.tsx';
import { DataTable, ErrorText } from '../common.tsx';

const STATE_TEXT: Record<DrainState, string> = {
  running: 'Draining',
  done: 'Drained',
  blocked: 'Blocked by a disruption budget',
  cancelled: 'Cancelled',
  failed: 'Failed',
  'timed-out': 'Timed out',
};
const POD_CLASS: Partial<Record<DrainPodStatus, string>> = { evicted: 'ok', blocked: 'warn', failed: 'bad' };

/** The latest drain of `node` (from `fleet:drain` events), per pod, with cancel while it runs. */
export function DrainProgress(props: { node: string }) {
  const drains = useFleetActions((s) => s.drains);
  const cancel = useFleetActions((s) => s.cancelDrain);
  const latest = useMemo(
    () =>
      Object.values(drains)
        .filter((d) => d.node === props.node)
        .sort((a, b) => b.startedAt.localeCompare(a.startedAt))[0] as DrainInfo | undefined,
    [drains, props.node],
  );
  if (!latest) return null;
  const done = latest.pods.filter((p) => p.status === 'evicted' || p.status === 'skipped').length;
  return (
    <section className="panel" aria-label={`Drain of ${props.node}`}>
      <h4>
        <output data-state={latest.state}>{STATE_TEXT[latest.state]}</output>{' '}
        <span className="sub">
          {done} of {latest.pods.length} pods handled · started{' '}
          {new Date(latest.startedAt).toLocaleTimeString()}
        </span>{' '}
        {latest.state === 'running' ? (
          <button type="button" className="secondary" onClick={() => void cancel(latest.drainId)}>
            Cancel drain
          </button>
        ) : null}
      </h4>
      <ErrorText error={latest.error ?? null} />
      <DataTable label={`Drain progress of ${props.node}`} columns={['Pod', 'Status', 'Why']}>
        {latest.pods.map((p) => (
          <tr key={`${p.namespace}/${p.name}`}>
            <th scope="row">
              {p.name} <span className="sub">{p.namespace}</span>
            </th>
            <td data-col="status" className={POD_CLASS[p.status]}>
              {p.status}
              {p.attempts && p.attempts > 1 ? ` (${p.attempts} tries)` : ''}
            </td>
            <td className="sub">{p.reason ?? '—'}</td>
          </tr>
        ))}
      </DataTable>
    </section>
  );
}
