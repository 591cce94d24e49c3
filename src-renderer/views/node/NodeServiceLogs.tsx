import { useState } from 'react';
import type { RequestOf } from '../../../src-main/ipc/contract.ts';
import type { SiteHost } from '../../../src-main/ipc/types.ts';
import { useProvision } from '../../store/provision-context.tsx';
import { LogPane } from '../logs/LogPane.tsx';
import { useLogStream } from '../logs/use-log-stream.ts';

type Unit = RequestOf<'streams:serviceLogs'>['unit'];
const UNITS: { unit: Unit; label: string }[] = [
  { unit: 'edgefleet-hub', label: 'edgefleet-hub' },
  { unit: 'edgefleet-tunnel-agent', label: 'edgefleet-tunnel-agent' },
];
const LINES = [200, 1_000, 10_000];

function ServiceLogs(props: { hosts: SiteHost[] }) {
  const [hostId, setHostId] = useState(props.hosts[0]?.id ?? '');
  const [unit, setUnit] = useState<Unit>('edgefleet-hub');
  const [follow, setFollow] = useState(true);
  const [lines, setLines] = useState(200);
  const [grepDraft, setGrepDraft] = useState('');
  const [grep, setGrep] = useState('');
  const [attempt, setAttempt] = useState(0);
  const input: RequestOf<'streams:serviceLogs'> = {
    hostId,
    unit,
    lines,
    ...(follow ? { follow: true } : {}),
    ...(grep ? { grep } : {}),
  };
  const { state, buffer, version } = useLogStream('streams:serviceLogs', input, attempt);
  return (
    <LogPane
      label={`Journal of ${unit} on ${hostId}`}
      state={state}
      buffer={buffer}
      version={version}
      follow={follow}
      onReopen={() => setAttempt((a) => a + 1)}
      options={
        <>
          {props.hosts.length > 1 ? (
            <label>
              Host
              <select value={hostId} onChange={(e) => setHostId(e.target.value)}>
                {props.hosts.map((h) => (
                  <option key={h.id} value={h.id}>
                    {h.id}
                  </option>
                ))}
              </select>
            </label>
          ) : null}
          <label>
            Service
            <select value={unit} onChange={(e) => setUnit(e.target.value as Unit)}>
              {UNITS.map((u) => (
                <option key={u.unit} value={u.unit}>
                  {u.label}
                </option>
              ))}
            </select>
          </label>
          <label className="check">
            <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} />
            Follow
          </label>
          <label>
            Entries
            <select value={lines} onChange={(e) => setLines(Number(e.target.value))}>
              {LINES.map((n) => (
                <option key={n} value={n}>
                  last {n.toLocaleString('en')}
                </option>
              ))}
            </select>
          </label>
          <form
            className="inline-form"
            aria-label="Search the journal on the host"
            onSubmit={(e) => {
              e.preventDefault();
              setGrep(grepDraft.trim());
            }}
          >
            <label title="journalctl --grep on the host: a PCRE2 pattern, case-insensitive unless it has capitals">
              Grep on the host
              <input
                value={grepDraft}
                maxLength={200}
                placeholder="pattern"
                onChange={(e) => setGrepDraft(e.target.value)}
              />
            </label>
            <button type="submit" className="secondary">
              {grepDraft.trim() === grep ? 'Reload' : 'Apply'}
            </button>
          </form>
        </>
      }
    />
  );
}

/**
 * The journal of the EdgeFleet agent services on this node's host, when the node is a host
 * registered in Provisioning. They are matched by name: provisioning records no other link
 * between a host and its Node, and a host is registered under its node name. Nothing is shown
 * for other nodes: the app has no way to reach their journal.
 */
export function NodeServiceLogs(props: { node: string }) {
  const all = useProvision((s) => s.hosts);
  const hosts = all.filter((h) => h.name === props.node);
  const [open, setOpen] = useState(false);
  if (hosts.length === 0) return null;
  return (
    <section className="panel wide" aria-label="Agent service logs">
      <h3>
        Agent service logs{' '}
        <span className="sub">
          journald on {hosts.map((h) => h.id).join(', ')}, over SSH
          {hosts.some((h) => h.viaTunnel) ? ' through the tunnel' : ''}
        </span>
      </h3>
      {open ? (
        <>
          <ServiceLogs hosts={hosts} />
          <button type="button" className="secondary" onClick={() => setOpen(false)}>
            Close
          </button>
        </>
      ) : (
        <button type="button" className="secondary" onClick={() => setOpen(true)}>
          Show hub and tunnel-agent logs
        </button>
      )}
    </section>
  );
}
