import {
  REPORT_CERT_WARN_DAYS,
  REPORT_DISK_LOW_FRACTION,
  reportProblems,
} from '../../../src-main/ipc/edge-api.ts';
import type { NodeWire } from '../../../src-main/ipc/types.ts';
import { age } from '../../model/fleet.ts';
import { bytesText, durationText, nodeReportOf, reportStale } from '../../model/node-report.ts';
import { useApp } from '../../store/context.tsx';

const TUNNEL_TEXT = {
  connected: 'connected',
  disconnected: 'disconnected (the cloud cannot reach this node through the tunnel)',
  'not-installed': 'no tunnel agent on this node',
} as const;

/** The hub's own account of its node (the `edgefleet.io/node-report` annotation), read without SSH. */
export function HubReport(props: { node: NodeWire }) {
  const now = useApp((s) => s.now);
  const v = nodeReportOf(props.node);
  if (v.kind === 'absent')
    return (
      <p className="empty" data-report="absent">
        No report: this node runs no EdgeFleet hub, or an older one.
      </p>
    );
  if (v.kind === 'invalid')
    return (
      <p className="error" data-report="invalid">
        The hub report cannot be read: {v.error}.
      </p>
    );
  const r = v.report;
  const problems = reportProblems(r, now);
  const diskShare = r.disk.totalBytes > 0 ? r.disk.freeBytes / r.disk.totalBytes : 1;
  const certDays = r.certNotAfter ? Math.floor((Date.parse(r.certNotAfter) - now) / 86_400_000) : undefined;
  const stale = reportStale(r, now);
  return (
    <>
      {stale ? (
        <p className="notice" data-report="stale">
          This report is {age(r.at, now)} old: the hub refreshes it at least every 30 min while it reaches the
          cloud, so the node is cut off or its hub has stopped. The figures are from then.
        </p>
      ) : null}
      {problems.length > 0 ? (
        <p className="bad" data-field="report-problems">
          {problems.join('; ')}
        </p>
      ) : null}
      <dl className="facts" data-report="present">
        <dt>Agent version</dt>
        <dd data-field="report-version">{r.agentVersion}</dd>
        <dt>Cache</dt>
        <dd data-field="report-cache">
          <span className={r.cache.health === 'Ready' ? 'ok' : 'bad'}>{r.cache.health}</span>
          {` — ${bytesText(r.cache.bytes)}`}
          {r.cache.quotaBytes !== undefined ? ` of a ${bytesText(r.cache.quotaBytes)} quota` : ', no quota'}
          {r.cache.message ? <div className="sub">{r.cache.message}</div> : null}
        </dd>
        <dt>Disk free</dt>
        <dd data-field="report-disk" className={diskShare < REPORT_DISK_LOW_FRACTION ? 'bad' : undefined}>
          {bytesText(r.disk.freeBytes)} of {bytesText(r.disk.totalBytes)} ({Math.round(diskShare * 100)} %)
        </dd>
        <dt>Journal</dt>
        <dd data-field="report-journal">
          {r.journal.depth} of {r.journal.bound} offline writes waiting
          {r.journal.dropped > 0 ? `, ${r.journal.dropped} dropped` : ', none dropped'}
        </dd>
        <dt>Offline (24 h)</dt>
        <dd data-field="report-offline">{durationText(r.offlineSeconds24h)}</dd>
        <dt>Certificate</dt>
        <dd
          data-field="report-cert"
          className={certDays !== undefined && certDays < REPORT_CERT_WARN_DAYS ? 'bad' : undefined}
        >
          {r.certNotAfter === undefined
            ? 'not reported'
            : certDays !== undefined && certDays < 0
              ? `expired ${r.certNotAfter.slice(0, 10)}`
              : `expires ${r.certNotAfter.slice(0, 10)} (${certDays} days left)`}
        </dd>
        <dt>Tunnel</dt>
        <dd data-field="report-tunnel" className={r.tunnel === 'disconnected' ? 'bad' : undefined}>
          {TUNNEL_TEXT[r.tunnel]}
        </dd>
        <dt>Reported</dt>
        <dd data-field="report-age">{age(r.at, now)} ago</dd>
      </dl>
    </>
  );
}
