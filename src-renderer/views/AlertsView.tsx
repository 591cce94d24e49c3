/**
 * The opened cluster's alerts as main evaluates them from the live state (no Prometheus needed):
 * state, since when, the objects involved (each a link to its node page or the Pools/Apps view),
 * what the rules could not read, and the cluster's thresholds.
 */
import { memo, useMemo, useState } from 'react';
import { ALERT_RULE_BY_ID, type AlertObject, type AlertWire } from '../../src-main/ipc/alerts-types.ts';
import { type AlertFilter, linkOfObject, objectLabel, STATE_TEXT, shown } from '../model/alerts.ts';
import { age } from '../model/fleet.ts';
import { useAlerts } from '../store/alerts-context.tsx';
import { useActiveConnection, useApp } from '../store/context.tsx';
import { useFleetUi } from '../store/fleet-context.tsx';
import { AlertRulesForm } from './alerts/AlertRulesForm.tsx';
import { type Column, Empty, ErrorText, VirtualTable } from './common.tsx';

const COLUMNS: Column[] = ['Alert', 'State', 'Since', 'Objects', 'Summary'];

export function AlertObjectLink(props: { object: AlertObject }) {
  const openNode = useFleetUi((s) => s.openNode);
  const setView = useApp((s) => s.setView);
  const link = linkOfObject(props.object);
  return (
    <button
      type="button"
      className="link alert-object"
      data-kind={props.object.kind}
      onClick={() => {
        if (link.to === 'node') openNode(link.node);
        else {
          openNode(null);
          setView(link.to);
        }
      }}
    >
      {objectLabel(props.object)}
    </button>
  );
}

const AlertRow = memo(function AlertRow(props: { alert: AlertWire; index: number }) {
  const a = props.alert;
  const now = useApp((s) => s.now);
  const def = ALERT_RULE_BY_ID[a.rule];
  const forMinutes = useAlerts((s) => s.snapshot?.rules[a.rule]?.forMinutes);
  const when =
    a.state === 'resolved'
      ? `resolved ${age(a.resolvedAt, now)} ago`
      : a.state === 'firing'
        ? `firing for ${age(a.firingAt, now)}`
        : `pending; fires after ${forMinutes ?? '?'} min`;
  return (
    <tr aria-rowindex={props.index + 2} data-alert={a.rule} data-state={a.state} data-severity={a.severity}>
      <th scope="row">
        <span className="alert-title">{def?.title ?? a.rule}</span>
        <span className="sub alert-rule">{a.rule}</span>
      </th>
      <td data-col="state">
        <span className={`tag alert-${a.state} alert-sev-${a.severity}`}>
          {STATE_TEXT[a.state]} · {a.severity}
        </span>
      </td>
      <td data-col="since" title={`${a.since}${a.firingAt ? `; firing at ${a.firingAt}` : ''}`}>
        {age(a.since, now)} ago
        <span className="sub alert-when">{when}</span>
      </td>
      <td data-col="objects" className="alert-objects">
        {a.objects.map((o) => (
          <AlertObjectLink key={`${o.kind}/${o.namespace ?? ''}/${o.name}`} object={o} />
        ))}
        {a.moreObjects ? <span className="sub">and {a.moreObjects} more</span> : null}
      </td>
      <td data-col="summary" className="event-message">
        {a.summary}
      </td>
    </tr>
  );
});

/** Loading, error, stale and what the rules could not read, said plainly above the list. */
function AlertsNotice() {
  const snap = useAlerts((s) => s.snapshot);
  const loading = useAlerts((s) => s.loading);
  const error = useAlerts((s) => s.error);
  const c = useActiveConnection();
  const now = useApp((s) => s.now);
  if (error) return <ErrorText error={error} />;
  if (!snap)
    return loading ? (
      <p className="notice notice-syncing" role="status">
        Loading alerts…
      </p>
    ) : null;
  const out = [];
  if (!snap.live || (c && c.state !== 'connected'))
    out.push(
      <p key="stale" className="notice notice-error" role="alert">
        Not live: rules are not evaluated while the cluster does not answer
        {snap.evaluatedAt ? `; alerts as of ${age(snap.evaluatedAt, now)} ago` : ''}.
      </p>,
    );
  if (snap.coverage.nodes === 'syncing' && snap.live)
    out.push(
      <p key="sync" className="notice notice-syncing" role="status">
        Reading nodes… node and hub rules are evaluated once the node list is in.
      </p>,
    );
  if (snap.coverage.nodes === 'unavailable')
    out.push(
      <p key="nodes" className="notice notice-error" role="alert">
        Nodes cannot be read with these credentials, so node, pool and hub rules are not evaluated (alerts
        already shown are kept as they were).
      </p>,
    );
  if (snap.coverage.yurtappsets === 'unavailable')
    out.push(
      <p key="apps" className="notice" role="status">
        YurtAppSets cannot be read here (not installed or not allowed): rollout rules are not evaluated.
      </p>,
    );
  if (snap.coverage.nodes === 'ok' && snap.coverage.reportingNodes === 0)
    out.push(
      <p key="reports" className="notice" role="status">
        No node publishes a hub report (edgefleet.io/node-report) yet: the certificate, cache, disk, journal
        and tunnel rules have nothing to read.
      </p>,
    );
  if (snap.problemCount > 0)
    out.push(
      <details key="problems" className="notice" data-field="report-problems">
        <summary>
          {snap.problemCount} node report{snap.problemCount === 1 ? '' : 's'} could not be read and{' '}
          {snap.problemCount === 1 ? 'is' : 'are'} ignored
        </summary>
        <ul>
          {snap.problems.map((p) => (
            <li key={p.object.name}>
              <AlertObjectLink object={p.object} />: {p.reason}
            </li>
          ))}
        </ul>
      </details>,
    );
  return <>{out}</>;
}

export function AlertsView() {
  const clusterId = useApp((s) => s.activeClusterId);
  const snap = useAlerts((s) => s.snapshot);
  const [by, setBy] = useState<AlertFilter>('active');
  const rows = useMemo(() => (snap ? shown(snap.alerts, by) : []), [snap, by]);
  const byId = useMemo(() => new Map(rows.map((a) => [a.id, a])), [rows]);
  if (!clusterId) return <Empty>Open a cluster on the Clusters page first.</Empty>;
  const firing = snap?.alerts.filter((a) => a.state === 'firing').length ?? 0;
  const pending = snap?.alerts.filter((a) => a.state === 'pending').length ?? 0;
  return (
    <>
      <h2>Alerts</h2>
      <p className="sub">
        Evaluated by EdgeFleet from the cluster's live state while it is open, so no Prometheus is needed; the
        same rules ship for Prometheus in resources/monitoring.{' '}
        <output aria-label="Alert counts" data-field="alert-counts">
          {firing} firing, {pending} pending
        </output>
      </p>
      <AlertsNotice />
      <search className="toolbar" aria-label="Filter alerts">
        <label>
          Show
          <select
            aria-label="Alerts in state"
            value={by}
            onChange={(e) => setBy(e.target.value as AlertFilter)}
          >
            <option value="active">Firing and pending</option>
            <option value="firing">Firing</option>
            <option value="pending">Pending</option>
            <option value="resolved">Resolved</option>
            <option value="all">All</option>
          </select>
        </label>
        <output className="sub" aria-label="Alerts shown">
          {rows.length} of {snap?.alerts.length ?? 0}
        </output>
      </search>
      {!snap ? null : rows.length === 0 ? (
        <Empty>
          {snap.alerts.length === 0
            ? snap.live
              ? 'No alert: every rule is quiet in this cluster.'
              : 'No alert known yet.'
            : 'No alert in this state.'}
        </Empty>
      ) : (
        <VirtualTable
          label="Alerts"
          columns={COLUMNS}
          keys={rows.map((a) => a.id)}
          height="calc(100vh - 420px)"
          row={(k, index) => {
            const a = byId.get(k);
            return a ? <AlertRow key={k} alert={a} index={index} /> : null;
          }}
        />
      )}
      <AlertRulesForm />
    </>
  );
}
