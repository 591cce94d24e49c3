import type { ReactNode } from 'react';
import type { FleetAction } from '../../../src-main/ipc/fleet-types.ts';
import { useGate } from '../../store/fleet-context.tsx';

/**
 * A button for a write: disabled with the reason (tooltip and text beside it) when the user may
 * not do it here or the cluster is not connected; `busy` while its write runs.
 */
export function ActionButton(props: {
  action: FleetAction;
  onClick: () => void;
  children: ReactNode;
  busy?: boolean;
  /** Also disabled for a reason of the form's own (e.g. nothing selected). */
  blocked?: string;
  type?: 'button' | 'submit';
  className?: string;
  /** Hide the reason text (a tooltip still says it), e.g. in dense rows. */
  quiet?: boolean;
  label?: string;
}) {
  const g = useGate(props.action);
  const reason = !g.enabled ? g.reason : props.blocked;
  const disabled = !g.enabled || props.busy === true || props.blocked !== undefined;
  return (
    <span className="action">
      <button
        type={props.type ?? 'button'}
        className={props.className}
        disabled={disabled}
        title={reason ?? g.reason}
        aria-label={props.label}
        onClick={props.type === 'submit' ? undefined : props.onClick}
      >
        {props.children}
      </button>
      {!g.enabled && !props.quiet ? (
        <span className="reason" role="note">
          {g.reason}
        </span>
      ) : null}
    </span>
  );
}
