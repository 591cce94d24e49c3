import type { NodeWire } from '../../../src-main/ipc/types.ts';
import { actionKey } from '../../store/fleet-actions.ts';
import { useActionStatus, useFleetActions } from '../../store/fleet-context.tsx';
import { ActionButton } from '../fleet/ActionButton.tsx';
import { ActionOutcome } from '../fleet/ActionOutcome.tsx';
import { AutonomyControl } from '../fleet/AutonomyControl.tsx';
import { DrainProgress } from './DrainProgress.tsx';

/** Cordon/uncordon (with undo), drain (per-pod progress, cancel) and autonomy for one node. */
export function NodeActions(props: { node: NodeWire }) {
  const name = props.node.name;
  const cordon = useFleetActions((s) => s.cordon);
  const drain = useFleetActions((s) => s.drain);
  const cordonStatus = useActionStatus(actionKey.cordon(name));
  const drainStatus = useActionStatus(actionKey.drain(name));
  const running = useFleetActions((s) =>
    Object.values(s.drains).some((d) => d.node === name && d.state === 'running'),
  );
  return (
    <section className="panel" aria-label={`Actions for ${name}`}>
      <h3>Actions</h3>
      <div className="row">
        {props.node.unschedulable ? (
          <ActionButton
            action="nodes:cordon"
            busy={cordonStatus.busy}
            onClick={() => void cordon([name], false)}
          >
            Uncordon
          </ActionButton>
        ) : (
          <ActionButton
            action="nodes:cordon"
            busy={cordonStatus.busy}
            onClick={() => void cordon([name], true)}
          >
            Cordon
          </ActionButton>
        )}
        <ActionButton
          action="nodes:drain"
          className="danger"
          busy={drainStatus.busy}
          onClick={() => void drain(name)}
          {...(running ? { blocked: 'A drain is running: cancel it first.' } : {})}
        >
          Drain
        </ActionButton>
      </div>
      <ActionOutcome statusKey={actionKey.cordon(name)} />
      <ActionOutcome statusKey={actionKey.drain(name)} busyText="Cordoning and listing pods…" />
      <DrainProgress node={name} />
      <AutonomyControl target={{ nodes: [name] }} title={`Autonomy for ${name}`} />
    </section>
  );
}
