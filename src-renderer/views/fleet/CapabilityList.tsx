import { useFleetActions, useGateOf } from '../../store/fleet-context.tsx';

/** "You can": every fleet action, enabled or not, with why (RBAC asked of the cluster itself). */
export function CapabilityList() {
  const caps = useFleetActions((s) => s.capabilities);
  const err = useFleetActions((s) => s.capabilitiesError);
  const gateOf = useGateOf();
  if (!caps) return <dd>{err ? `Cannot tell: ${err}` : 'Checking what your account may do…'}</dd>;
  return (
    <dd>
      {caps.user ? <p className="sub">Signed in as {caps.user}</p> : null}
      <ul className="capabilities" aria-label="What you can do">
        {caps.actions.map((c) => {
          const g = gateOf(c.action);
          return (
            <li key={c.action} className={g.enabled ? 'cap-on' : 'cap-off'} data-action={c.action}>
              <span aria-hidden="true">{g.enabled ? '✓' : '✗'}</span> {c.label}
              {g.reason ? <span className="sub"> — {g.reason}</span> : null}
            </li>
          );
        })}
      </ul>
    </dd>
  );
}
