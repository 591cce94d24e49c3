import { useActionStatus, useFleetActions } from '../../store/fleet-context.tsx';
import { ErrorText } from '../common.tsx';

/** Progress, result (with undo where there is one) or error of the write under `statusKey`. */
export function ActionOutcome(props: { statusKey: string; busyText?: string }) {
  const s = useActionStatus(props.statusKey);
  const dismiss = useFleetActions((a) => a.dismiss);
  if (s.busy)
    return (
      <p className="outcome" role="status">
        {props.busyText ?? 'Working…'}
      </p>
    );
  if (s.error) return <ErrorText error={s.error} />;
  if (!s.result) return null;
  return (
    <div className="outcome" role="status">
      <p>
        {s.result}{' '}
        {s.undo ? (
          <button type="button" className="secondary" onClick={() => void s.undo?.()}>
            Undo
          </button>
        ) : null}{' '}
        <button type="button" className="link" onClick={() => dismiss(props.statusKey)}>
          Dismiss
        </button>
      </p>
      {s.detail?.length ? (
        <ul className="outcome-detail">
          {s.detail.map((d) => (
            <li key={d}>{d}</li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
