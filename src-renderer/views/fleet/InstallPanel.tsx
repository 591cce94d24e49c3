import { type FormEvent, useState } from 'react';
import type { InstallObject } from '../../../src-main/ipc/fleet-types.ts';
import { actionKey } from '../../store/fleet-actions.ts';
import { useActionStatus, useFleetActions } from '../../store/fleet-context.tsx';
import { ErrorText } from '../common.tsx';
import { ActionButton } from './ActionButton.tsx';

const CHANGE_TEXT: Record<InstallObject['change'], string> = {
  create: 'create',
  update: 'update',
  unchanged: 'unchanged',
};

/**
 * "Install EdgeFleet…" for a cluster without its controller: options, then the plan the API server
 * computed (a dry run per object), then Install with per-object progress and the result.
 */
export function InstallPanel() {
  const install = useFleetActions((s) => s.install);
  const planInstall = useFleetActions((s) => s.planInstall);
  const applyInstall = useFleetActions((s) => s.applyInstall);
  const close = useFleetActions((s) => s.closeInstall);
  const planning = useActionStatus(actionKey.installPlan);
  const applying = useActionStatus(actionKey.installApply);
  const [open, setOpen] = useState(false);
  const [image, setImage] = useState('');
  const [webhook, setWebhook] = useState(true);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void planInstall({ ...(image.trim() ? { image: image.trim() } : {}), webhook });
  };
  const done = install?.result?.ok === true;

  if (!open)
    return (
      <div className="install-open">
        <ActionButton action="edgefleet:install" onClick={() => setOpen(true)}>
          Install EdgeFleet…
        </ActionButton>
      </div>
    );

  return (
    <section className="panel install" aria-labelledby="install-h">
      <h4 id="install-h">Install EdgeFleet</h4>
      <p className="hint">
        Applies the app’s CRDs (NodePool, YurtAppSet) and the controller (RBAC, a 2-replica Deployment in
        kube-system, the webhook Service) with server-side apply as edgefleet-app. Nothing is applied before
        you confirm the plan.
      </p>
      <form onSubmit={submit}>
        <div className="row">
          <label>
            Controller image (blank: the app’s default; a registry mirror for air-gapped sites)
            <input
              value={image}
              onChange={(e) => setImage(e.target.value)}
              placeholder="edgefleet/agent:latest"
              disabled={planning.busy || applying.busy}
            />
          </label>
          <label className="inline">
            <input
              type="checkbox"
              checked={webhook}
              onChange={(e) => setWebhook(e.target.checked)}
              disabled={planning.busy || applying.busy}
            />
            Endpoints admission webhook (a self-signed serving certificate is made when none exists)
          </label>
        </div>
        <div className="row">
          <ActionButton
            action="edgefleet:install"
            type="submit"
            onClick={() => {}}
            busy={planning.busy || applying.busy}
          >
            {planning.busy ? 'Planning…' : install?.plan ? 'Plan again' : 'Show the plan'}
          </ActionButton>
          <button
            type="button"
            className="secondary"
            disabled={applying.busy}
            onClick={() => {
              close();
              setOpen(false);
            }}
          >
            {done ? 'Close' : 'Cancel'}
          </button>
        </div>
      </form>
      <ErrorText error={planning.error} />
      {install?.plan?.refused ? (
        <p className="error" role="alert">
          {install.plan.refused}
        </p>
      ) : null}
      {install?.plan && !install.plan.refused ? (
        <>
          <table className="data install-plan" aria-label="Install plan">
            <thead>
              <tr>
                <th scope="col">Object</th>
                <th scope="col">Change</th>
                <th scope="col">Progress</th>
              </tr>
            </thead>
            <tbody>
              {install.plan.objects.map((o) => {
                const p = install.progress[o.id];
                const err = p?.error ?? o.error;
                return (
                  <tr key={o.id} data-object={o.id}>
                    <th scope="row" className="mono">
                      {o.id}
                      {o.note ? <div className="sub">{o.note}</div> : null}
                    </th>
                    <td className={`change-${o.change}`}>{CHANGE_TEXT[o.change]}</td>
                    <td className={p ? `install-${p.state}` : undefined}>
                      {err ? (
                        <span className="error-cell">
                          {err.message}
                          {err.fix ? ` — ${err.fix}` : ''}
                        </span>
                      ) : p ? (
                        `${p.state}${p.detail ? ` (${p.detail})` : ''}`
                      ) : (
                        '—'
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {done ? (
            <p className="outcome" role="status">
              EdgeFleet is installed. The controller’s pods start on a cloud-side node; this page shows
              EdgeFleet once one holds its Lease.
            </p>
          ) : (
            <ActionButton
              action="edgefleet:install"
              onClick={() => void applyInstall()}
              busy={applying.busy || planning.busy}
              blocked={
                install.plan.objects.some((o) => o.error) ? 'The plan has errors (see the table).' : undefined
              }
            >
              {applying.busy ? 'Installing…' : 'Install'}
            </ActionButton>
          )}
          <ErrorText error={applying.error} />
        </>
      ) : null}
    </section>
  );
}
