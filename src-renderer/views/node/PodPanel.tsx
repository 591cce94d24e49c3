import { useEffect, useRef, useState } from 'react';
import { useApp, useFleetValue } from '../../store/context.tsx';
import { useFleetUi, useGate } from '../../store/fleet-context.tsx';
import type { FleetData } from '../../store/fleet-data.ts';
import type { PodViewMode } from '../../store/fleet-ui.ts';
import { PodLogs } from '../logs/PodLogs.tsx';
import { PodShell } from '../shell/PodShell.tsx';

const TABS: { mode: PodViewMode; label: string; action: 'pods:log' | 'pods:exec' }[] = [
  { mode: 'logs', label: 'Logs', action: 'pods:log' },
  { mode: 'shell', label: 'Shell', action: 'pods:exec' },
];

/**
 * The logs or a shell of one pod on the node page, with the container to use. What the user
 * may not do (RBAC) or cannot do now (cluster not connected) is shown with the reason instead.
 */
export function PodPanel(props: { fleet: FleetData; podKey: string; mode: PodViewMode }) {
  const clusterId = useApp((s) => s.activeClusterId);
  const openPod = useFleetUi((s) => s.openPod);
  const pod = useFleetValue(
    props.fleet,
    [`obj:pods:${props.podKey}`],
    (f) => f.get('pods', props.podKey),
    undefined,
  );
  const names = pod?.containers?.map((c) => c.name) ?? [];
  const [chosen, setChosen] = useState<string | undefined>(undefined);
  const container = chosen && names.includes(chosen) ? chosen : names[0];
  const gate = useGate(props.mode === 'logs' ? 'pods:log' : 'pods:exec');
  // Once shown, a view stays through a connection blip (its stream reports what happens to it).
  const shown = useRef<Partial<Record<PodViewMode, true>>>({});
  if (gate.enabled) shown.current[props.mode] = true;
  const title = `${props.mode === 'logs' ? 'Logs' : 'Shell'} of pod ${props.podKey}`;
  const self = useRef<HTMLElement>(null);
  // Opened from a pod row above: bring it into view (at 1366×768 it starts below the fold).
  // biome-ignore lint/correctness/useExhaustiveDependencies: on each pod or mode opened.
  useEffect(() => {
    self.current?.scrollIntoView({ block: 'start' });
  }, [props.podKey, props.mode]);
  return (
    <section className="panel wide pod-panel" aria-label={title} ref={self}>
      <div className="pod-panel-head">
        <h3>{title}</h3>
        <div className="tabs" role="tablist" aria-label="Pod view">
          {TABS.map((t) => (
            <button
              key={t.mode}
              type="button"
              role="tab"
              aria-selected={props.mode === t.mode}
              className={props.mode === t.mode ? undefined : 'secondary'}
              onClick={() => openPod({ key: props.podKey, mode: t.mode })}
            >
              {t.label}
            </button>
          ))}
        </div>
        {names.length > 1 ? (
          <label className="inline">
            Container
            <select value={container} onChange={(e) => setChosen(e.target.value)}>
              {names.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </label>
        ) : container ? (
          <span className="sub">container {container}</span>
        ) : null}
        <button type="button" className="secondary" onClick={() => openPod(null)}>
          Close
        </button>
      </div>
      {!pod || !clusterId ? (
        <p className="notice">Pod {props.podKey} is not on this node (any more).</p>
      ) : !gate.enabled && !shown.current[props.mode] ? (
        <p className="notice" role="note">
          {gate.reason}
        </p>
      ) : props.mode === 'logs' ? (
        <PodLogs key={`${props.podKey}/${container}`} clusterId={clusterId} pod={pod} container={container} />
      ) : (
        <PodShell
          key={`${props.podKey}/${container}`}
          clusterId={clusterId}
          pod={pod}
          container={container}
        />
      )}
    </section>
  );
}
