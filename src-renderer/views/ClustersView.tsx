import { type FormEvent, useState } from 'react';
import { RESOURCE_KINDS } from '../../src-main/ipc/types.ts';
import { DemoPanel } from '../demo/DemoPanel.tsx';
import { useActiveMeta, useApp, useFleet } from '../store/context.tsx';
import { useFleetActions } from '../store/fleet-context.tsx';
import { ConnectionBadge, DataTable, Empty, ErrorText, flavorLabel } from './common.tsx';
import { CapabilityList } from './fleet/CapabilityList.tsx';
import { InstallPanel } from './fleet/InstallPanel.tsx';

function VaultPanel() {
  const vault = useApp((s) => s.vault);
  const keepInMemory = useApp((s) => s.useSessionMemory);
  if (!vault) return null;
  return (
    <section aria-labelledby="vault-h" className="panel">
      <h3 id="vault-h">Secrets</h3>
      <p>{vault.detail}</p>
      {vault.fix ? <p className="fix">{vault.fix}</p> : null}
      {vault.backend === 'unavailable' ? (
        <button type="button" onClick={() => void keepInMemory()}>
          Keep secrets in memory for this session
        </button>
      ) : null}
    </section>
  );
}

function ImportForm() {
  const [path, setPath] = useState('');
  const [name, setName] = useState('');
  const importing = useApp((s) => s.importing);
  const importError = useApp((s) => s.importError);
  const importKubeconfig = useApp((s) => s.importKubeconfig);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (await importKubeconfig(path.trim(), name.trim() || undefined)) {
      setPath('');
      setName('');
    }
  };
  return (
    <form className="panel import" aria-labelledby="import-h" onSubmit={(e) => void submit(e)}>
      <h3 id="import-h">Import a kubeconfig</h3>
      <p className="hint">
        The file is copied into EdgeFleet; its keys and tokens move to the keychain, never to the settings
        file.
      </p>
      <div className="row">
        <label>
          Kubeconfig path
          <input
            value={path}
            onChange={(e) => setPath(e.target.value)}
            placeholder="/home/me/site.kubeconfig"
            required
          />
        </label>
        <label>
          Name (optional)
          <input value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <button type="submit" disabled={importing || !path.trim()}>
          {importing ? 'Importing…' : 'Import'}
        </button>
      </div>
      <ErrorText error={importError} />
    </form>
  );
}

function SourcesTable() {
  const sources = useApp((s) => s.sources);
  const active = useApp((s) => s.activeClusterId);
  const openCluster = useApp((s) => s.openCluster);
  if (sources.length === 0) {
    return <Empty>No kubeconfig found in ~/.kube/config or $KUBECONFIG, and none imported yet.</Empty>;
  }
  return (
    <DataTable
      label="Clusters"
      columns={['Context', 'Source', 'Server', 'Auth', { label: 'Actions', hidden: true }]}
    >
      {sources.flatMap((src) =>
        src.error
          ? [
              <tr key={src.id}>
                <td colSpan={5} className="error-cell">
                  {src.path}: {src.error.message}
                  {src.error.fix ? ` — ${src.error.fix}` : ''}
                </td>
              </tr>,
            ]
          : src.contexts.map((c) => (
              <tr key={c.clusterId} className={c.clusterId === active ? 'active' : undefined}>
                <th scope="row">
                  {c.context}
                  {c.clusterId === active ? <span className="tag"> open</span> : null}
                </th>
                <td>
                  {src.kind === 'imported'
                    ? 'imported'
                    : src.kind === 'env'
                      ? '$KUBECONFIG'
                      : src.kind === 'demo'
                        ? 'demo fleet'
                        : '~/.kube/config'}
                  <div className="sub">{src.path}</div>
                </td>
                <td className="mono">{c.server}</td>
                <td>{c.auth}</td>
                <td>
                  <button
                    type="button"
                    onClick={() => void openCluster(c.clusterId)}
                    aria-label={`Open ${c.context} (${src.kind})`}
                  >
                    {c.clusterId === active ? 'Reopen' : 'Open'}
                  </button>
                </td>
              </tr>
            )),
      )}
    </DataTable>
  );
}

function ActiveCluster() {
  const snap = useActiveMeta();
  const fleet = useFleet();
  const id = useApp((s) => s.activeClusterId);
  const seq = snap?.seq;
  const openError = useApp((s) => s.openError);
  // An install under way stays on screen after the flavor turns to EdgeFleet, with its result.
  const installing = useFleetActions((s) => s.install !== null);
  if (!id) return null;
  return (
    <section className="panel" aria-labelledby="active-h">
      <h3 id="active-h">Open cluster: {id}</h3>
      <ErrorText error={openError} />
      {snap ? (
        <>
          <ConnectionBadge />
          <dl className="facts">
            <dt>Edge control plane</dt>
            <dd>{flavorLabel(snap.flavor.kind)}</dd>
            <dt>What it means</dt>
            <dd>{snap.flavor.explanation}</dd>
            {snap.flavor.capabilities.length > 0 ? (
              <>
                <dt>You can see</dt>
                <dd>{snap.flavor.capabilities.join(', ')}</dd>
              </>
            ) : null}
            <dt>You can</dt>
            <CapabilityList />
          </dl>
          {snap.flavor.kind !== 'edgefleet' || installing ? <InstallPanel /> : null}
          <DataTable label="Resource access" columns={['Resource', 'State', 'Objects']}>
            {RESOURCE_KINDS.map((k) => (
              <tr key={k}>
                <th scope="row">{k}</th>
                <td className={`state-${snap.states[k].status}`}>{snap.states[k].status}</td>
                <td data-seq={seq}>{fleet?.objects[k].size ?? 0}</td>
              </tr>
            ))}
          </DataTable>
        </>
      ) : (
        <p role="status">Connecting…</p>
      )}
    </section>
  );
}

export function ClustersView() {
  const sourcesError = useApp((s) => s.sourcesError);
  const hasClusters = useApp((s) => s.sources.some((src) => src.kind !== 'demo'));
  return (
    <>
      <h2>Clusters</h2>
      <ErrorText error={sourcesError} />
      <DemoPanel hasClusters={hasClusters} />
      <SourcesTable />
      <ImportForm />
      <ActiveCluster />
      <VaultPanel />
    </>
  );
}
