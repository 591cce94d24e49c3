import { useState } from 'react';
import { actionKey } from '../../store/fleet-actions.ts';
import { useActionStatus, useFleetActions } from '../../store/fleet-context.tsx';
import { ActionButton } from './ActionButton.tsx';
import { ActionOutcome } from './ActionOutcome.tsx';

const PRESETS = [
  { value: '0', label: 'never evict' },
  { value: '1h', label: '1 hour' },
  { value: '24h', label: '24 hours' },
];
const GO_DURATION = /^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$/;

/**
 * Set or clear autonomy on some nodes or a whole pool; the answer says what the controller
 * does to their pods (toleration seconds) and, per node, whether its hub reports it working.
 */
export function AutonomyControl(props: { target: { nodes: string[] } | { pool: string }; title: string }) {
  const [duration, setDuration] = useState('0');
  const setAutonomy = useFleetActions((s) => s.setAutonomy);
  const key = actionKey.autonomy('pool' in props.target ? `pool:${props.target.pool}` : 'nodes');
  const status = useActionStatus(key);
  const none = 'nodes' in props.target && props.target.nodes.length === 0 ? 'Select nodes first.' : undefined;
  const bad = GO_DURATION.test(duration.trim()) ? undefined : 'A duration like 0, 90s, 2h or 1h30m.';
  const id = `autonomy-${'pool' in props.target ? props.target.pool : 'nodes'}`;
  return (
    <section className="autonomy" aria-label={props.title}>
      <h4>{props.title}</h4>
      <div className="row">
        <label>
          Keep pods for
          <input
            id={id}
            list={`${id}-presets`}
            value={duration}
            size={8}
            onChange={(e) => setDuration(e.target.value)}
            aria-describedby={`${id}-hint`}
          />
          <datalist id={`${id}-presets`}>
            {PRESETS.map((p) => (
              <option key={p.value} value={p.value}>
                {p.label}
              </option>
            ))}
          </datalist>
        </label>
        <ActionButton
          action="nodes:autonomy"
          busy={status.busy}
          onClick={() => void setAutonomy(props.target, duration.trim())}
          {...(none || bad ? { blocked: none ?? bad } : {})}
        >
          Set autonomy
        </ActionButton>
        <ActionButton
          action="nodes:autonomy"
          busy={status.busy}
          quiet
          className="secondary"
          onClick={() => void setAutonomy(props.target, null)}
          {...(none ? { blocked: none } : {})}
        >
          Clear autonomy
        </ActionButton>
      </div>
      <p className="hint" id={`${id}-hint`}>
        0 = never evict pods while the node is cut off from the cloud.
      </p>
      {bad ? <p className="bad">{bad}</p> : null}
      <ActionOutcome statusKey={key} busyText="Writing the autonomy annotation…" />
    </section>
  );
}
