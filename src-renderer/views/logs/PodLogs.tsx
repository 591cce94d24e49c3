import { useState } from 'react';
import type { RequestOf } from '../../../src-main/ipc/contract.ts';
import type { PodWire } from '../../../src-main/ipc/types.ts';
import { LogPane } from './LogPane.tsx';
import { useLogStream } from './use-log-stream.ts';

const TAILS = [
  { value: 100, label: 'last 100' },
  { value: 1_000, label: 'last 1,000' },
  { value: 10_000, label: 'last 10,000' },
  { value: 0, label: 'all' },
];

/** A pod container's log: follow, previous run, how much of the tail, then search in what arrived. */
export function PodLogs(props: { clusterId: string; pod: PodWire; container: string | undefined }) {
  const { pod, container } = props;
  const [follow, setFollow] = useState(true);
  const [previous, setPrevious] = useState(false);
  const [tail, setTail] = useState(1_000);
  const [attempt, setAttempt] = useState(0);
  const restarts = pod.containers?.find((c) => c.name === container)?.restarts ?? pod.restarts;
  const noPrevious =
    restarts === 0 ? 'This container has not restarted: there is no previous run.' : undefined;
  const usePrevious = previous && !noPrevious;
  const input: RequestOf<'streams:podLogs'> = {
    clusterId: props.clusterId,
    namespace: pod.namespace,
    pod: pod.name,
    ...(container ? { container } : {}),
    // A previous run has ended: there is nothing to follow.
    ...(follow && !usePrevious ? { follow: true } : {}),
    ...(usePrevious ? { previous: true } : {}),
    ...(tail ? { tailLines: tail } : {}),
  };
  const { state, buffer, version } = useLogStream('streams:podLogs', input, attempt);
  return (
    <LogPane
      label={`Log of ${pod.name}${container ? ` / ${container}` : ''}`}
      state={state}
      buffer={buffer}
      version={version}
      follow={input.follow === true}
      onReopen={() => setAttempt((a) => a + 1)}
      options={
        <>
          <label className="check">
            <input
              type="checkbox"
              checked={follow && !usePrevious}
              disabled={usePrevious}
              onChange={(e) => setFollow(e.target.checked)}
            />
            Follow
          </label>
          <label className="check" title={noPrevious}>
            <input
              type="checkbox"
              checked={usePrevious}
              disabled={noPrevious !== undefined}
              onChange={(e) => setPrevious(e.target.checked)}
            />
            Previous run
            {restarts > 0 ? ` (${restarts} restart${restarts === 1 ? '' : 's'})` : ' (none: never restarted)'}
          </label>
          <label>
            Lines
            <select value={tail} onChange={(e) => setTail(Number(e.target.value))}>
              {TAILS.map((t) => (
                <option key={t.value} value={t.value}>
                  {t.label}
                </option>
              ))}
            </select>
          </label>
        </>
      }
    />
  );
}
