import { type FormEvent, useState } from 'react';
import type { ProvisionHostResult, ProvisionOperation, SiteHost } from '../../src-main/ipc/types.ts';
import { useApp } from '../store/context.tsx';
import { useProvision } from '../store/provision-context.tsx';
import type { HostProgress, RunView } from '../store/provision-store.ts';
import { DataTable, Empty, ErrorText } from './common.tsx';

function mib(bytes: number): string {
  return bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : `${Math.round(bytes / 1024)} KiB`;
}

function AddHostForm() {
  const hosts = useProvision((s) => s.hosts);
  const addHost = useProvision((s) => s.addHost);
  const busy = useProvision((s) => s.busy);
  const [f, setF] = useState({
    site: '',
    name: '',
    address: '',
    port: '',
    user: 'root',
    authKind: 'key' as 'key' | 'password' | 'agent',
    privateKey: '',
    passphrase: '',
    password: '',
    jumpHostId: '',
    viaTunnel: false,
  });
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) =>
    setF({ ...f, [k]: e.target.value });
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const auth =
      f.authKind === 'key'
        ? {
            kind: 'key' as const,
            privateKey: f.privateKey,
            ...(f.passphrase ? { passphrase: f.passphrase } : {}),
          }
        : f.authKind === 'password'
          ? { kind: 'password' as const, password: f.password }
          : { kind: 'agent' as const };
    const ok = await addHost({
      site: f.site.trim(),
      name: f.name.trim(),
      address: f.address.trim(),
      user: f.user.trim(),
      auth,
      ...(f.port ? { port: Number(f.port) } : {}),
      ...(f.jumpHostId ? { jumpHostId: f.jumpHostId } : {}),
      ...(f.viaTunnel ? { viaTunnel: true } : {}),
    });
    // Secrets leave the form as soon as they are in the vault.
    if (ok) setF({ ...f, name: '', address: '', privateKey: '', passphrase: '', password: '' });
  };
  return (
    <form className="panel" aria-labelledby="add-host-h" onSubmit={(e) => void submit(e)}>
      <h3 id="add-host-h">Add a host</h3>
      <p className="hint">
        Keys, passphrases and passwords go to the keychain; EdgeFleet keeps only a reference.
      </p>
      <div className="row">
        <label>
          Site
          <input value={f.site} onChange={set('site')} placeholder="site-a" required />
        </label>
        <label>
          Host name
          <input value={f.name} onChange={set('name')} placeholder="edge-1" required />
        </label>
        <label>
          Address
          <input value={f.address} onChange={set('address')} placeholder="10.0.0.21" required />
        </label>
        <label>
          Port
          <input value={f.port} onChange={set('port')} placeholder="22" inputMode="numeric" />
        </label>
        <label>
          User
          <input value={f.user} onChange={set('user')} required />
        </label>
      </div>
      <div className="row">
        <label>
          Sign in with
          <select value={f.authKind} onChange={set('authKind')}>
            <option value="key">SSH private key</option>
            <option value="password">Password</option>
            <option value="agent">SSH agent</option>
          </select>
        </label>
        {f.authKind === 'key' ? (
          <>
            <label className="grow">
              Private key
              <textarea
                value={f.privateKey}
                onChange={set('privateKey')}
                rows={3}
                placeholder="-----BEGIN OPENSSH PRIVATE KEY-----"
                required
                spellCheck={false}
                autoComplete="off"
              />
            </label>
            <label>
              Key passphrase (if any)
              <input type="password" value={f.passphrase} onChange={set('passphrase')} autoComplete="off" />
            </label>
          </>
        ) : null}
        {f.authKind === 'password' ? (
          <label>
            Password
            <input
              type="password"
              value={f.password}
              onChange={set('password')}
              required
              autoComplete="off"
            />
          </label>
        ) : null}
        <label>
          Jump host
          <select value={f.jumpHostId} onChange={set('jumpHostId')}>
            <option value="">none (direct)</option>
            {hosts.map((h) => (
              <option key={h.id} value={h.id}>
                {h.id}
              </option>
            ))}
          </select>
        </label>
        <label className="inline">
          <input
            type="checkbox"
            checked={f.viaTunnel}
            onChange={(e) => setF({ ...f, viaTunnel: e.target.checked })}
          />
          Through the EdgeFleet tunnel (NATed site)
        </label>
        <button type="submit" disabled={busy}>
          Add host
        </button>
      </div>
    </form>
  );
}

function HostKeyPrompt() {
  const p = useProvision((s) => s.hostKeyPrompt);
  const hosts = useProvision((s) => s.hosts);
  const accept = useProvision((s) => s.acceptHostKey);
  const reject = useProvision((s) => s.rejectHostKey);
  if (!p) return null;
  const target = hosts.find((h) => h.id === p.hostId);
  // With a jump host, the unknown key may be the jump host's rather than the target's.
  const via = target && target.address !== p.host ? ` (the jump host on the way to ${target.name})` : '';
  return (
    <section
      className="panel hostkey"
      role="alertdialog"
      aria-labelledby="hostkey-h"
      aria-describedby="hostkey-d"
    >
      <h3 id="hostkey-h">Unknown host key</h3>
      <p id="hostkey-d">
        {p.host}:{p.port}
        {via} presented an SSH host key ({p.keyType}) that EdgeFleet has not seen before. Compare its
        fingerprint with the one the host itself shows (
        <code>ssh-keygen -lf /etc/ssh/ssh_host_{p.keyType.replace(/^ssh-/, '')}_key.pub</code>) and accept it
        only if they match.
      </p>
      <label>
        Host key fingerprint
        <input className="fingerprint mono" readOnly value={p.fingerprint} size={p.fingerprint.length} />
      </label>
      <div className="row">
        <button type="button" onClick={() => void accept()}>
          Accept this key
        </button>
        <button type="button" onClick={reject}>
          Do not trust
        </button>
      </div>
    </section>
  );
}

/**
 * How the app reaches NATed sites: per site, the tunnel server's operator door, its CA and a
 * client certificate. The private key goes to the keychain; the settings keep a reference.
 */
function TunnelAccessPanel() {
  const tunnels = useProvision((s) => s.tunnels);
  const hosts = useProvision((s) => s.hosts);
  const setTunnel = useProvision((s) => s.setTunnel);
  const removeTunnel = useProvision((s) => s.removeTunnel);
  const busy = useProvision((s) => s.busy);
  const blank = {
    site: '',
    doorHost: '',
    doorPort: '10264',
    serverName: '',
    caPem: '',
    certPem: '',
    keyPem: '',
  };
  const [f, setF] = useState(blank);
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) =>
    setF({ ...f, [k]: e.target.value });
  const withoutDoor = [...new Set(hosts.filter((h) => h.viaTunnel).map((h) => h.site))].filter(
    (site) => !tunnels.some((t) => t.site === site),
  );
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const ok = await setTunnel({
      site: f.site.trim(),
      doorHost: f.doorHost.trim(),
      doorPort: Number(f.doorPort),
      caPem: f.caPem.trim(),
      certPem: f.certPem.trim(),
      keyPem: f.keyPem.trim(),
      ...(f.serverName.trim() ? { serverName: f.serverName.trim() } : {}),
    });
    if (ok) setF(blank);
  };
  return (
    <section className="panel" aria-labelledby="tunnel-h">
      <h3 id="tunnel-h">Tunnel access for NATed sites</h3>
      {withoutDoor.length > 0 ? (
        <p className="notice" role="alert">
          Hosts of {withoutDoor.join(', ')} are reached through the tunnel, but no tunnel access is set for{' '}
          {withoutDoor.length === 1 ? 'that site' : 'those sites'}: add it below.
        </p>
      ) : null}
      {tunnels.length === 0 ? (
        <Empty>No site uses the tunnel yet.</Empty>
      ) : (
        <DataTable
          label="Tunnel access"
          columns={['Site', 'Tunnel server door', 'Server name', { label: 'Actions', hidden: true }]}
        >
          {tunnels.map((t) => (
            <tr key={t.site}>
              <th scope="row">{t.site}</th>
              <td className="mono">
                {t.door.host}:{t.door.port}
              </td>
              <td>{t.serverName ?? '(the door address)'}</td>
              <td>
                <button type="button" disabled={busy} onClick={() => void removeTunnel(t.site)}>
                  Remove {t.site}
                </button>
              </td>
            </tr>
          ))}
        </DataTable>
      )}
      <form aria-label="Set tunnel access" onSubmit={(e) => void submit(e)}>
        <div className="row">
          <label>
            Tunnel site
            <input value={f.site} onChange={set('site')} placeholder="site-a" required />
          </label>
          <label>
            Door address
            <input value={f.doorHost} onChange={set('doorHost')} placeholder="tunnel.example.com" required />
          </label>
          <label>
            Door port
            <input value={f.doorPort} onChange={set('doorPort')} inputMode="numeric" required />
          </label>
          <label>
            Server name (if not the address)
            <input value={f.serverName} onChange={set('serverName')} />
          </label>
        </div>
        <div className="row">
          {(
            [
              ['caPem', 'Tunnel server CA (PEM)', '-----BEGIN CERTIFICATE-----'],
              ['certPem', 'Client certificate (PEM)', '-----BEGIN CERTIFICATE-----'],
              ['keyPem', 'Client key (PEM, kept in the keychain)', '-----BEGIN PRIVATE KEY-----'],
            ] as const
          ).map(([k, label, placeholder]) => (
            <label className="grow" key={k}>
              {label}
              <textarea
                value={f[k]}
                onChange={set(k)}
                rows={3}
                placeholder={placeholder}
                required
                spellCheck={false}
                autoComplete="off"
              />
            </label>
          ))}
          <button type="submit" disabled={busy}>
            Save tunnel access
          </button>
        </div>
      </form>
    </section>
  );
}

function authText(h: SiteHost): string {
  return h.auth.kind === 'key' ? 'SSH key' : h.auth.kind === 'password' ? 'password' : 'SSH agent';
}

function HostsTable(props: { selected: Set<string>; toggle: (id: string) => void }) {
  const hosts = useProvision((s) => s.hosts);
  const trusted = useProvision((s) => s.trusted);
  const check = useProvision((s) => s.checkHostKey);
  const busy = useProvision((s) => s.busy);
  if (hosts.length === 0) return <Empty>No hosts yet: add one above.</Empty>;
  return (
    <DataTable
      label="Site hosts"
      columns={['Host', 'Site', 'Address', 'User', 'Sign-in', 'Route', 'Host key', 'In run']}
    >
      {hosts.map((h) => (
        <tr key={h.id}>
          <th scope="row">{h.name}</th>
          <td>{h.site}</td>
          <td className="mono">
            {h.address}
            {h.port !== 22 ? `:${h.port}` : ''}
          </td>
          <td>{h.user}</td>
          <td>{authText(h)}</td>
          <td>{h.viaTunnel ? 'tunnel' : h.jumpHostId ? `via ${h.jumpHostId}` : 'direct'}</td>
          <td>
            {trusted[h.id] ? <span className="ok">trusted</span> : null}{' '}
            <button
              type="button"
              disabled={busy}
              onClick={() => void check(h.id)}
              aria-label={`Check host key of ${h.name}`}
            >
              Check
            </button>
          </td>
          <td>
            <input
              type="checkbox"
              aria-label={`Include ${h.name} in the run`}
              checked={props.selected.has(h.id)}
              onChange={() => props.toggle(h.id)}
            />
          </td>
        </tr>
      ))}
    </DataTable>
  );
}

const OPERATIONS: { op: ProvisionOperation; label: string }[] = [
  { op: 'preflight', label: 'Preflight (read only)' },
  { op: 'convert', label: 'Convert (joined node → behind the hub)' },
  { op: 'join', label: 'Join (new node, bootstrap token)' },
  { op: 'upgrade', label: 'Upgrade the agent' },
  { op: 'revert', label: 'Revert' },
];

function RunForm(props: { selected: Set<string> }) {
  const clusterId = useApp((s) => s.activeClusterId);
  const start = useProvision((s) => s.startRun);
  const busy = useProvision((s) => s.busy);
  const [op, setOp] = useState<ProvisionOperation>('convert');
  const [pool, setPool] = useState('');
  const [autonomy, setAutonomy] = useState('');
  const [token, setToken] = useState('');
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const ok = await start({
      operation: op,
      hostIds: [...props.selected],
      ...(clusterId ? { clusterId } : {}),
      ...(pool.trim() ? { pool: pool.trim() } : {}),
      ...(autonomy.trim() ? { autonomyDuration: autonomy.trim() } : {}),
      ...(op === 'join' ? { bootstrapToken: token.trim() } : {}),
    });
    if (ok) setToken('');
  };
  return (
    <form className="panel" aria-labelledby="run-h" onSubmit={(e) => void submit(e)}>
      <h3 id="run-h">Run</h3>
      <p className="hint">
        {clusterId
          ? `Cluster: ${clusterId}`
          : 'No cluster open: only "Upgrade the agent" can run without one.'}{' '}
        · {props.selected.size} host(s) selected
      </p>
      <div className="row">
        <label>
          Operation
          <select value={op} onChange={(e) => setOp(e.target.value as ProvisionOperation)}>
            {OPERATIONS.map((o) => (
              <option key={o.op} value={o.op}>
                {o.label}
              </option>
            ))}
          </select>
        </label>
        {op === 'convert' || op === 'join' ? (
          <>
            <label>
              Node pool
              <input value={pool} onChange={(e) => setPool(e.target.value)} placeholder="site-a" />
            </label>
            <label>
              Autonomy duration
              <input
                value={autonomy}
                onChange={(e) => setAutonomy(e.target.value)}
                placeholder="0 = never evict"
              />
            </label>
          </>
        ) : null}
        {op === 'join' ? (
          <label>
            Bootstrap token
            <input
              type="password"
              value={token}
              onChange={(e) => setToken(e.target.value)}
              autoComplete="off"
              required
            />
          </label>
        ) : null}
        <button type="submit" disabled={busy || props.selected.size === 0}>
          Start
        </button>
      </div>
    </form>
  );
}

function HostRunPanel(props: {
  host: string;
  p: HostProgress | undefined;
  result: ProvisionHostResult | undefined;
}) {
  const steps = props.p?.steps ?? [];
  const count = props.p?.stepCount ?? 0;
  const finished = steps.filter((s) => s.status === 'done' || s.status === 'skipped').length;
  const bytes = Object.values(props.p?.bytes ?? {}).reduce((a, b) => a + b, 0);
  const current = [...steps].reverse().find((s) => s.status === 'running' || s.status === 'failed');
  return (
    <section className="panel host-run" aria-label={`Host ${props.host}`}>
      <h4>
        {props.host}{' '}
        <span className={props.result ? `tag status-${props.result.status}` : 'tag'}>
          {props.result?.status ?? (current ? 'running' : 'waiting')}
        </span>
      </h4>
      <div
        role="progressbar"
        aria-label={`${props.host} overall`}
        aria-valuemin={0}
        aria-valuemax={count || 1}
        aria-valuenow={finished}
        aria-valuetext={`${finished} of ${count} steps`}
        className="bar"
      >
        <span style={{ width: `${count ? (finished / count) * 100 : 0}%` }} />
      </div>
      <p className="sub">
        {finished} of {count || '?'} steps · {mib(bytes)} sent
        {current?.message ? ` · ${current.message}` : ''}
      </p>
      <ol className="steps" aria-label={`Steps on ${props.host}`}>
        {steps.map((s) => (
          <li key={s.step} className={`step-${s.status}`}>
            <span className="step-name">{s.step}</span>
            <span
              role="progressbar"
              aria-label={`${s.step} on ${props.host}`}
              aria-valuemin={0}
              aria-valuemax={100}
              aria-valuenow={s.percent}
              className="bar small"
            >
              <span style={{ width: `${s.percent}%` }} />
            </span>
            <span className="step-status">{s.status}</span>
            {s.bytes ? <span className="sub">{mib(s.bytes.sent)}</span> : null}
          </li>
        ))}
      </ol>
    </section>
  );
}

function Summary(props: { run: RunView }) {
  const s = props.run.info.summary;
  if (!s) return null;
  return (
    <>
      <h3>Summary</h3>
      <p role="status">
        {props.run.info.operation} {props.run.info.state}: {s.counts.done} done, {s.counts.failed} failed,{' '}
        {s.counts.refused} refused, {s.counts.interrupted} interrupted in {(s.durationMs / 1000).toFixed(1)}{' '}
        s, {mib(s.bytesSent)} sent
      </p>
      <DataTable
        label="Run summary"
        columns={['Host', 'Result', 'Steps applied', 'Already done', 'What happened']}
      >
        {s.hosts.map((h) => (
          <tr key={h.host}>
            <th scope="row">{h.host}</th>
            <td data-col="status" className={h.status === 'done' ? 'ok' : 'bad'}>
              {h.status}
            </td>
            <td>{h.applied.length}</td>
            <td>{h.skipped.length}</td>
            <td>
              {h.error ? (
                <>
                  {h.failedStep ? `at ${h.failedStep}: ` : ''}
                  {h.error.message}
                  {h.error.fix ? <span className="fix"> {h.error.fix}</span> : null}
                  {h.rolledBack.length ? ` — rolled back ${h.rolledBack.join(', ')}` : ''}
                </>
              ) : (
                `${(h.durationMs / 1000).toFixed(1)} s, ${mib(h.bytesSent)} sent`
              )}
            </td>
          </tr>
        ))}
      </DataTable>
    </>
  );
}

function RunPanel() {
  const run = useProvision((s) => (s.currentRunId ? s.runs[s.currentRunId] : undefined));
  const cancel = useProvision((s) => s.cancel);
  if (!run) return null;
  const results = new Map((run.info.summary?.hosts ?? []).map((h) => [h.host, h]));
  return (
    <section aria-label={`Run ${run.info.runId}`}>
      <h3>
        {run.info.operation} · <span className="mono">{run.info.runId}</span> · {run.info.state}{' '}
        {run.info.state === 'running' ? (
          <button type="button" onClick={() => void cancel(run.info.runId)}>
            Cancel
          </button>
        ) : null}
      </h3>
      <div className="host-runs">
        {run.info.hosts.map((h) => (
          <HostRunPanel key={h} host={h} p={run.hosts[h]} result={results.get(h)} />
        ))}
      </div>
      <Summary run={run} />
      <h3>Log</h3>
      {run.omitted ? (
        <p className="sub">{run.omitted} lines not shown live; the run's log file has them all.</p>
      ) : null}
      <pre className="log" role="log" aria-label="Run log">
        {run.log
          .map(
            (l) => `${l.at.slice(11, 19)} ${l.host} ${l.stream === 'info' ? '' : `[${l.stream}] `}${l.line}`,
          )
          .join('\n')}
      </pre>
    </section>
  );
}

export function ProvisionView() {
  const error = useProvision((s) => s.error);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const toggle = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  return (
    <>
      <h2>Provisioning</h2>
      <ErrorText error={error} />
      <HostKeyPrompt />
      <AddHostForm />
      <HostsTable selected={selected} toggle={toggle} />
      <TunnelAccessPanel />
      <RunForm selected={selected} />
      <RunPanel />
    </>
  );
}
