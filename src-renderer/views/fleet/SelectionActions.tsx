import { useMemo, useState } from 'react';
import { useFleetVersion } from '../../store/context.tsx';
import { actionKey } from '../../store/fleet-actions.ts';
import { useActionStatus, useFleetActions, useFleetUi } from '../../store/fleet-context.tsx';
import type { FleetData } from '../../store/fleet-data.ts';
import { ActionButton } from './ActionButton.tsx';
import { ActionOutcome } from './ActionOutcome.tsx';
import { AutonomyControl } from './AutonomyControl.tsx';

/** What to do with the selected nodes: move to a pool (the keyboard way to drag), autonomy, cordon. */
export function SelectionActions(props: { fleet: FleetData }) {
  const selected = useFleetUi((s) => s.selected);
  const setSelection = useFleetUi((s) => s.setSelection);
  const assign = useFleetActions((s) => s.assign);
  const cordon = useFleetActions((s) => s.cordon);
  const assignStatus = useActionStatus(actionKey.assign);
  const v = useFleetVersion(props.fleet, ['kind:nodepools', 'pools']);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `v` is the data version.
  const pools = useMemo(() => props.fleet.poolNames(), [props.fleet, v]);
  const [pool, setPool] = useState('');
  const nodes = useMemo(() => [...selected].sort(), [selected]);
  const none = nodes.length === 0 ? 'Select nodes first (checkboxes; shift-click for a range).' : undefined;
  return (
    <section className="panel" aria-label="Selected nodes">
      <h3>
        {nodes.length} selected{' '}
        {nodes.length ? (
          <button type="button" className="link" onClick={() => setSelection([])}>
            clear
          </button>
        ) : null}
      </h3>
      <div className="row">
        <label>
          Move to pool
          <select value={pool} onChange={(e) => setPool(e.target.value)}>
            <option value="">choose…</option>
            {pools.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
        <ActionButton
          action="nodes:assign-pool"
          busy={assignStatus.busy}
          onClick={() => void assign(nodes, pool)}
          {...(none || !pool ? { blocked: none ?? 'Choose a pool.' } : {})}
        >
          Move
        </ActionButton>
        <ActionButton
          action="nodes:assign-pool"
          quiet
          className="secondary"
          busy={assignStatus.busy}
          onClick={() => void assign(nodes, null)}
          {...(none ? { blocked: none } : {})}
        >
          Remove from pool
        </ActionButton>
      </div>
      <ActionOutcome statusKey={actionKey.assign} busyText="Moving nodes…" />
      <div className="row">
        <ActionButton
          action="nodes:cordon"
          quiet
          className="secondary"
          onClick={() => void cordon(nodes, true, actionKey.cordonMany)}
          {...(none ? { blocked: none } : {})}
        >
          Cordon
        </ActionButton>
        <ActionButton
          action="nodes:cordon"
          quiet
          className="secondary"
          onClick={() => void cordon(nodes, false, actionKey.cordonMany)}
          {...(none ? { blocked: none } : {})}
        >
          Uncordon
        </ActionButton>
      </div>
      <ActionOutcome statusKey={actionKey.cordonMany} />
      <AutonomyControl target={{ nodes }} title="Autonomy for the selected nodes" />
    </section>
  );
}
