/**
 * The opened cluster's alert thresholds: one row per rule from the shared rule table (on/off,
 * `for` in minutes, its one threshold within its bounds). Saved into the app's settings for this
 * cluster and applied at once; main validates again.
 */
import { useEffect, useState } from 'react';
import {
  ALERT_RULES,
  type AlertRules,
  defaultAlertRules,
  FOR_MINUTES_MAX,
} from '../../../src-main/ipc/alerts-types.ts';
import { useAlerts } from '../../store/alerts-context.tsx';
import { ErrorText } from '../common.tsx';

/** What is wrong with a draft, per rule (empty: it can be saved). */
export function draftProblems(d: AlertRules): string[] {
  const out: string[] = [];
  for (const r of ALERT_RULES) {
    const s = d[r.id];
    if (!Number.isInteger(s.forMinutes) || s.forMinutes < 0 || s.forMinutes > FOR_MINUTES_MAX)
      out.push(`${r.title}: "for" must be a whole number of minutes from 0 to ${FOR_MINUTES_MAX}.`);
    const t = r.threshold;
    if (t && (!Number.isInteger(s.threshold) || (s.threshold ?? 0) < t.min || (s.threshold ?? 0) > t.max))
      out.push(
        `${r.title}: ${t.label.toLowerCase()} must be a whole number from ${t.min} to ${t.max} ${t.unit}.`,
      );
  }
  return out;
}

export function AlertRulesForm() {
  const clusterId = useAlerts((s) => s.clusterId);
  const info = useAlerts((s) => s.rules);
  const error = useAlerts((s) => s.rulesError);
  const saving = useAlerts((s) => s.saving);
  const loadRules = useAlerts((s) => s.loadRules);
  const saveRules = useAlerts((s) => s.saveRules);
  const [draft, setDraft] = useState<AlertRules | null>(null);
  const [saved, setSaved] = useState(false);
  // biome-ignore lint/correctness/useExhaustiveDependencies: reload when the cluster changes.
  useEffect(() => {
    void loadRules();
  }, [clusterId, loadRules]);
  useEffect(() => {
    if (info) setDraft(structuredClone(info.rules));
  }, [info]);
  if (!draft) return error ? <ErrorText error={error} /> : null;
  const problems = draftProblems(draft);
  const change = (id: keyof AlertRules, patch: Partial<AlertRules[keyof AlertRules]>) => {
    setSaved(false);
    setDraft({ ...draft, [id]: { ...draft[id], ...patch } });
  };
  const num = (v: string) => (v.trim() === '' ? Number.NaN : Number(v));
  return (
    <details className="alert-rules" open={info?.custom || undefined}>
      <summary>
        Thresholds for this cluster {info?.custom ? '(changed from the defaults)' : '(the defaults)'}
      </summary>
      <form
        aria-label="Alert thresholds"
        onSubmit={(e) => {
          e.preventDefault();
          if (problems.length === 0) void saveRules(draft).then(setSaved);
        }}
      >
        <table>
          <thead>
            <tr>
              <th scope="col">Rule</th>
              <th scope="col">On</th>
              <th scope="col">For (min)</th>
              <th scope="col">Threshold</th>
            </tr>
          </thead>
          <tbody>
            {ALERT_RULES.map((r) => {
              const s = draft[r.id];
              return (
                <tr key={r.id} data-rule={r.id}>
                  <th scope="row">
                    {r.title}
                    <span className="sub alert-rule">
                      {r.id} · {r.severity}
                    </span>
                  </th>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`${r.title}: on`}
                      checked={s.enabled}
                      onChange={(e) => change(r.id, { enabled: e.target.checked })}
                    />
                  </td>
                  <td>
                    <input
                      type="number"
                      aria-label={`${r.title}: for, minutes`}
                      min={0}
                      max={FOR_MINUTES_MAX}
                      step={1}
                      value={Number.isNaN(s.forMinutes) ? '' : s.forMinutes}
                      onChange={(e) => change(r.id, { forMinutes: num(e.target.value) })}
                    />
                  </td>
                  <td>
                    {r.threshold ? (
                      <label className="alert-threshold">
                        {r.threshold.label}{' '}
                        <input
                          type="number"
                          aria-label={`${r.title}: ${r.threshold.label}`}
                          min={r.threshold.min}
                          max={r.threshold.max}
                          step={1}
                          value={s.threshold === undefined || Number.isNaN(s.threshold) ? '' : s.threshold}
                          onChange={(e) => change(r.id, { threshold: num(e.target.value) })}
                        />{' '}
                        {r.threshold.unit}
                      </label>
                    ) : (
                      <span className="sub">—</span>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        {problems.length ? (
          <ul className="error" role="alert">
            {problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        ) : null}
        <ErrorText error={error} />
        <div className="row">
          <button type="submit" disabled={saving || problems.length > 0}>
            {saving ? 'Saving…' : 'Save thresholds'}
          </button>
          <button
            type="button"
            className="secondary"
            disabled={saving}
            onClick={() => {
              setDraft(defaultAlertRules());
              void saveRules(null).then(setSaved);
            }}
          >
            Reset to defaults
          </button>
          {saved ? (
            <output className="sub" aria-label="Thresholds saved">
              Saved; applied to this cluster's alerts now.
            </output>
          ) : null}
        </div>
      </form>
    </details>
  );
}
