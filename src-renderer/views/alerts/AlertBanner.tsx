/**
 * The app shell's banner while alerts fire in the opened cluster: how many, the newest one's
 * summary, a way to the Alerts view, and Dismiss (until another alert fires). It is the
 * notification in browser mode; in Electron main also raises a desktop notification.
 */
import { ALERT_RULE_BY_ID } from '../../../src-main/ipc/alerts-types.ts';
import { alertOrder } from '../../model/alerts.ts';
import { useAlerts } from '../../store/alerts-context.tsx';
import { firingOf } from '../../store/alerts-store.ts';
import { useApp } from '../../store/context.tsx';
import { useFleetUi } from '../../store/fleet-context.tsx';

export function AlertBanner() {
  const snap = useAlerts((s) => s.snapshot);
  const dismissed = useAlerts((s) => s.dismissed);
  const dismiss = useAlerts((s) => s.dismissBanner);
  const setView = useApp((s) => s.setView);
  const openNode = useFleetUi((s) => s.openNode);
  const firing = firingOf(snap).sort(alertOrder);
  if (firing.length === 0 || firing.every((a) => dismissed.has(a.id))) return null;
  const critical = firing.filter((a) => a.severity === 'critical').length;
  const first = firing[0];
  return (
    <div
      className={`alert-banner${critical ? ' alert-banner-critical' : ''}`}
      role="alert"
      aria-label="Alerts firing"
    >
      <strong data-field="banner-count">
        {firing.length} alert{firing.length === 1 ? '' : 's'} firing
        {critical ? ` (${critical} critical)` : ''}
      </strong>
      {first ? (
        <span className="alert-banner-text">
          {ALERT_RULE_BY_ID[first.rule]?.title}: {first.summary}
        </span>
      ) : null}
      <button
        type="button"
        onClick={() => {
          openNode(null);
          setView('alerts');
        }}
      >
        Show alerts
      </button>
      <button type="button" className="secondary" onClick={dismiss}>
        Dismiss
      </button>
    </div>
  );
}
