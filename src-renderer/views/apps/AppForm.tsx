import { type FormEvent, useMemo, useState } from 'react';
import type { PoolTweak } from '../../../src-main/ipc/fleet-types.ts';
import { parseLabels } from '../../model/fleet-fields.ts';
import { actionKey } from '../../store/fleet-actions.ts';
import { useActionStatus, useFleetActions } from '../../store/fleet-context.tsx';
import { ActionButton } from '../fleet/ActionButton.tsx';
import { ActionOutcome } from '../fleet/ActionOutcome.tsx';

interface TweakRow {
  replicas: string;
  image: string;
}

/** Ports as "8080" or "http:8080" or "8080/UDP", comma-separated. */
function parsePorts(text: string) {
  const out: { containerPort: number; name?: string; protocol?: 'TCP' | 'UDP' | 'SCTP' }[] = [];
  for (const raw of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^(?:([a-z0-9-]{1,15}):)?(\d{1,5})(?:\/(TCP|UDP|SCTP))?$/.exec(raw);
    const port = Number(m?.[2]);
    if (!m || port < 1 || port > 65_535)
      return { error: `"${raw}" is not a port (e.g. 8080, http:8080, 53/UDP)` };
    out.push({
      containerPort: port,
      ...(m[1] ? { name: m[1] } : {}),
      ...(m[3] ? { protocol: m[3] as 'UDP' } : {}),
    });
  }
  return { ports: out };
}

/** A YurtAppSet from a form: one template rolled out per pool, with per-pool replicas/image. */
export function AppForm(props: { pools: string[] }) {
  const [name, setName] = useState('');
  const [namespace, setNamespace] = useState('default');
  const [image, setImage] = useState('');
  const [replicas, setReplicas] = useState('1');
  const [ports, setPorts] = useState('');
  const [by, setBy] = useState<'pools' | 'selector'>('pools');
  const [chosen, setChosen] = useState<string[]>([]);
  const [selector, setSelector] = useState('');
  const [tweaks, setTweaks] = useState<Record<string, TweakRow>>({});
  const createApp = useFleetActions((s) => s.createApp);
  const status = useActionStatus(actionKey.appCreate);
  const parsedPorts = useMemo(() => parsePorts(ports), [ports]);
  const sel = parseLabels(selector);
  const problem = !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(name)
    ? 'Name: lower-case letters, digits and -.'
    : !image.trim()
      ? 'Give an image.'
      : !/^\d+$/.test(replicas)
        ? 'Replicas: a whole number.'
        : 'error' in parsedPorts
          ? parsedPorts.error
          : by === 'pools' && chosen.length === 0
            ? 'Choose at least one pool.'
            : by === 'selector' && (!sel.ok || Object.keys(sel.value).length === 0)
              ? sel.ok
                ? 'Give a pool selector, e.g. nodepool.openyurt.io/type=edge.'
                : sel.error
              : undefined;
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (problem || 'error' in parsedPorts) return;
    const tw: PoolTweak[] = Object.entries(tweaks)
      .filter(([p, t]) => chosen.includes(p) && (t.replicas.trim() || t.image.trim()))
      .map(([p, t]) => ({
        pools: [p],
        ...(t.replicas.trim() ? { replicas: Number(t.replicas) } : {}),
        ...(t.image.trim() ? { image: t.image.trim() } : {}),
      }));
    await createApp({
      namespace,
      name,
      image: image.trim(),
      replicas: Number(replicas),
      ...(parsedPorts.ports.length ? { ports: parsedPorts.ports } : {}),
      ...(by === 'pools' ? { pools: chosen } : { poolSelector: sel.ok ? sel.value : {} }),
      ...(tw.length ? { tweaks: tw } : {}),
    });
  };
  const tweak = (pool: string, field: keyof TweakRow, value: string) =>
    setTweaks({ ...tweaks, [pool]: { ...(tweaks[pool] ?? { replicas: '', image: '' }), [field]: value } });
  return (
    <form className="panel" aria-label="Create a YurtAppSet from a form" onSubmit={(e) => void submit(e)}>
      <div className="form-grid">
        <label>
          App name
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder="web" />
        </label>
        <label>
          Namespace
          <input value={namespace} onChange={(e) => setNamespace(e.target.value)} />
        </label>
        <label>
          Image
          <input value={image} onChange={(e) => setImage(e.target.value)} placeholder="nginx:1.27" />
        </label>
        <label>
          Replicas per pool
          <input value={replicas} inputMode="numeric" onChange={(e) => setReplicas(e.target.value)} />
        </label>
        <label>
          Ports
          <input value={ports} onChange={(e) => setPorts(e.target.value)} placeholder="http:8080" />
        </label>
        <fieldset className="inline">
          <legend>Pools</legend>
          <label className="inline">
            <input type="radio" checked={by === 'pools'} onChange={() => setBy('pools')} /> by name
          </label>
          <label className="inline">
            <input type="radio" checked={by === 'selector'} onChange={() => setBy('selector')} /> by selector
          </label>
        </fieldset>
      </div>
      {by === 'selector' ? (
        <label>
          Pool selector (pool labels)
          <input
            value={selector}
            onChange={(e) => setSelector(e.target.value)}
            placeholder="site.example.com/tier=edge"
          />
        </label>
      ) : (
        <table aria-label="Pools of the app">
          <thead>
            <tr>
              <th scope="col">Pool</th>
              <th scope="col">Replicas here</th>
              <th scope="col">Image here</th>
            </tr>
          </thead>
          <tbody>
            {props.pools.map((p) => (
              <tr key={p}>
                <th scope="row">
                  <label className="inline">
                    <input
                      type="checkbox"
                      checked={chosen.includes(p)}
                      onChange={(e) =>
                        setChosen(e.target.checked ? [...chosen, p] : chosen.filter((x) => x !== p))
                      }
                    />{' '}
                    {p}
                  </label>
                </th>
                <td>
                  <input
                    aria-label={`Replicas in ${p}`}
                    size={4}
                    disabled={!chosen.includes(p)}
                    placeholder={replicas}
                    value={tweaks[p]?.replicas ?? ''}
                    onChange={(e) => tweak(p, 'replicas', e.target.value)}
                  />
                </td>
                <td>
                  <input
                    aria-label={`Image in ${p}`}
                    disabled={!chosen.includes(p)}
                    placeholder={image || 'same image'}
                    value={tweaks[p]?.image ?? ''}
                    onChange={(e) => tweak(p, 'image', e.target.value)}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {problem && name ? <p className="bad">{problem}</p> : null}
      <ActionButton
        action="yurtappsets:create"
        type="submit"
        onClick={() => {}}
        busy={status.busy}
        {...(problem ? { blocked: problem } : {})}
      >
        Create app
      </ActionButton>
      <ActionOutcome statusKey={actionKey.appCreate} busyText="Creating…" />
    </form>
  );
}
