/**
 * The demo fleet on the Clusters page: a "Start the demo fleet" button for a newcomer with no
 * cluster, then the build/start progress (with the expected time on a first start), the error
 * with its fix, and a stop button while it runs.
 */
import { useEffect, useState } from 'react';
import type { DemoStatus } from '../../src-main/ipc/demo-types.ts';
import { ErrorText } from '../views/common.tsx';
import { useDemo } from './context.tsx';

function useElapsed(since: string | undefined, active: boolean): number | null {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(t);
  }, [active]);
  return since && active ? Math.max(0, Math.round((now - Date.parse(since)) / 1000)) : null;
}

function minutesSeconds(s: number): string {
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

function Progress(props: { status: DemoStatus }) {
  const s = props.status;
  const busy = s.state === 'building' || s.state === 'starting' || s.state === 'stopping';
  const elapsed = useElapsed(s.startedAt, busy);
  if (!busy) return null;
  return (
    <div role="status" aria-label="Demo fleet progress">
      <p>{s.detail}</p>
      {s.progress ? (
        <progress
          max={s.progress.total}
          value={s.progress.done}
          aria-label={`${s.progress.done} of ${s.progress.total} steps`}
        />
      ) : null}
      <p className="hint">
        {s.state === 'building'
          ? `The first start builds Kubernetes, etcd and kwok from source: ${s.expected ?? 'several minutes'}. Later starts take seconds.`
          : null}
        {elapsed !== null ? ` Elapsed: ${minutesSeconds(elapsed)}.` : null}
      </p>
    </div>
  );
}

/** Shown when the user has no cluster yet, and whenever a demo is starting, running or failed. */
export function DemoPanel(props: { hasClusters: boolean }) {
  const status = useDemo((s) => s.status);
  const requestError = useDemo((s) => s.requestError);
  const start = useDemo((s) => s.start);
  const stop = useDemo((s) => s.stop);
  const state = status?.state ?? 'idle';
  if (props.hasClusters && state === 'idle' && !requestError) return null;
  const canStart = state === 'idle' || state === 'failed';
  return (
    <section className="panel" aria-labelledby="demo-h">
      <h3 id="demo-h">Demo fleet</h3>
      {canStart ? (
        <>
          <p className="hint">
            No cluster yet? Start a local demo fleet: a real Kubernetes control plane on 127.0.0.1 with
            EdgeFleet's controller and about 300 simulated edge nodes in 3 sites × 4 pools, some of them cut
            off now and then. It runs as you, needs no root, and stops when EdgeFleet quits.
          </p>
          <button type="button" onClick={() => void start()}>
            Start the demo fleet
          </button>
        </>
      ) : null}
      {status ? <Progress status={status} /> : null}
      {state === 'running' && status ? (
        <>
          <p role="status">{status.detail}</p>
          <p className="sub mono">{status.apiServerUrl}</p>
          <button type="button" onClick={() => void stop()}>
            Stop the demo fleet
          </button>
        </>
      ) : null}
      {status?.error ? (
        <ErrorText
          error={{
            message: status.error.message,
            ...(status.error.fix ? { fix: status.error.fix } : {}),
          }}
        />
      ) : null}
      <ErrorText error={requestError} />
    </section>
  );
}
