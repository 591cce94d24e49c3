import { useEffect, useRef, useState } from 'react';
import type { RequestOf } from '../../../src-main/ipc/contract.ts';
import type { IpcError } from '../../../src-main/ipc/errors.ts';
import type { StreamEndReason } from '../../../src-main/ipc/stream-types.ts';
import { LogLines } from '../../model/log-lines.ts';
import { toUserError, type UserError } from '../../store/app-store.ts';
import { useStreams } from '../../store/streams-context.tsx';
import type { OpenStream } from '../../transport/stream-client.ts';

export type LogStreamState =
  | { phase: 'opening' }
  | { phase: 'live' }
  | { phase: 'ended'; reason: StreamEndReason; error?: IpcError }
  /** The open request was refused (RBAC, no such container, no previous run, unreachable…). */
  | { phase: 'failed'; error: UserError };

type LogChannel = 'streams:podLogs' | 'streams:serviceLogs';

/**
 * One log stream for as long as the view shows it with the same options: a new `input` (by its
 * JSON) or `attempt` closes the old stream and opens a fresh one; unmounting closes it.
 * Lines are kept in a bounded LogLines.
 */
export function useLogStream<C extends LogChannel>(
  channel: C,
  input: RequestOf<C>,
  attempt: number,
): { state: LogStreamState; buffer: LogLines; version: number } {
  const client = useStreams();
  const buffer = useRef(new LogLines());
  const [version, setVersion] = useState(0);
  const [state, setState] = useState<LogStreamState>({ phase: 'opening' });
  const key = JSON.stringify(input);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` stands for `input`.
  useEffect(() => {
    const lines = new LogLines();
    buffer.current = lines;
    setVersion((v) => v + 1);
    setState({ phase: 'opening' });
    let gone = false;
    let stream: OpenStream | null = null;
    client
      .start(channel, input, {
        lines: (ls) => {
          lines.append(ls);
          setVersion((v) => v + 1);
        },
        end: (e) => setState({ phase: 'ended', reason: e.reason, ...(e.error ? { error: e.error } : {}) }),
      })
      .then(
        (s) => {
          if (gone) void s.close().catch(reportClose);
          else {
            stream = s;
            setState((st) => (st.phase === 'opening' ? { phase: 'live' } : st));
          }
        },
        (e: unknown) => {
          if (!gone) setState({ phase: 'failed', error: toUserError(e) });
        },
      );
    return () => {
      gone = true;
      stream?.close().catch(reportClose);
    };
  }, [client, channel, key, attempt]);
  return { state, buffer: buffer.current, version };
}

/** A close that failed for another reason than a lost connection: nothing to show, but not to hide. */
export function reportClose(e: unknown): void {
  console.error('closing a stream failed', e);
}
