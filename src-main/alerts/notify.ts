/**
 * What a desktop notification says for an alerts diff: one per alert that started firing, or
 * one summary when several fired in the same evaluation (a site cut off fires hundreds at once;
 * hundreds of toasts help no one). Plain Node, so the Electron shell only shows the result.
 */
import { ALERT_RULE_BY_ID, type AlertsDiff } from '../ipc/alerts-types.ts';

export interface DesktopNote {
  title: string;
  body: string;
  urgent: boolean;
}

/** At most this many separate notifications per evaluation; beyond, one summary. */
const SEPARATE_MAX = 3;

export function notesFor(d: AlertsDiff): DesktopNote[] {
  if (d.fired.length === 0) return [];
  const fired = new Set(d.fired);
  const alerts = d.upserts.filter((a) => fired.has(a.id));
  const cluster = d.clusterId.split('/').slice(1).join('/') || d.clusterId;
  if (alerts.length <= SEPARATE_MAX)
    return alerts.map((a) => ({
      title: `${ALERT_RULE_BY_ID[a.rule]?.title ?? a.rule} — ${cluster}`,
      body: a.summary,
      urgent: a.severity === 'critical',
    }));
  const critical = alerts.filter((a) => a.severity === 'critical').length;
  const rules = [...new Set(alerts.map((a) => ALERT_RULE_BY_ID[a.rule]?.title ?? a.rule))];
  return [
    {
      title: `${alerts.length} alerts firing — ${cluster}`,
      body: `${critical ? `${critical} critical. ` : ''}${rules.slice(0, 3).join('; ')}${rules.length > 3 ? '; …' : ''}. Open EdgeFleet's Alerts view for the list.`,
      urgent: critical > 0,
    },
  ];
}
