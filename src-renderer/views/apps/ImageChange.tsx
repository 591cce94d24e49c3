import { useState } from 'react';
import { actionKey } from '../../store/fleet-actions.ts';
import { useActionStatus, useFleetActions } from '../../store/fleet-context.tsx';
import { ActionButton } from '../fleet/ActionButton.tsx';
import { ActionOutcome } from '../fleet/ActionOutcome.tsx';

/** A new image for the template; the controller rolls it out pool by pool. */
export function ImageChange(props: { namespace: string; name: string; image?: string }) {
  const [image, setImage] = useState(props.image ?? '');
  const setImageOf = useFleetActions((s) => s.setImage);
  const key = actionKey.appImage(`${props.namespace}/${props.name}`);
  const status = useActionStatus(key);
  const same = image.trim() === (props.image ?? '') ? 'That is the current image.' : undefined;
  return (
    <form
      className="row"
      aria-label={`Change the image of ${props.name}`}
      onSubmit={(e) => {
        e.preventDefault();
        if (!same && image.trim()) void setImageOf(props.namespace, props.name, image.trim());
      }}
    >
      <label>
        New image
        <input value={image} onChange={(e) => setImage(e.target.value)} />
      </label>
      <ActionButton
        action="yurtappsets:edit"
        type="submit"
        onClick={() => {}}
        busy={status.busy}
        {...(same || !image.trim() ? { blocked: same ?? 'Give an image.' } : {})}
      >
        Roll out
      </ActionButton>
      <ActionOutcome statusKey={key} busyText="Writing the new image…" />
    </form>
  );
}
