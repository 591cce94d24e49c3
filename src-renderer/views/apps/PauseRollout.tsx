import { actionKey } from '../../store/fleet-actions.ts';
import { useActionStatus, useFleetActions } from '../../store/fleet-context.tsx';
import { ActionButton } from '../fleet/ActionButton.tsx';
import { ActionOutcome } from '../fleet/ActionOutcome.tsx';

/** Holds or releases a YurtAppSet's rollout (the pause annotation our controller honours). */
export function PauseRollout(props: { namespace: string; name: string; pauseRequested: boolean }) {
  const setPaused = useFleetActions((s) => s.setPaused);
  const key = actionKey.appPause(`${props.namespace}/${props.name}`);
  const status = useActionStatus(key);
  const next = !props.pauseRequested;
  return (
    <div className="row">
      <ActionButton
        action="yurtappsets:pause"
        className="secondary"
        busy={status.busy}
        onClick={() => void setPaused(props.namespace, props.name, next)}
      >
        {next ? 'Pause rollout' : 'Resume rollout'}
      </ActionButton>
      <ActionOutcome statusKey={key} busyText={next ? 'Pausing…' : 'Resuming…'} />
    </div>
  );
}
