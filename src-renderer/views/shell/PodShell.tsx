import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useRef, useState } from 'react';
import type { IpcError } from '../../../src-main/ipc/errors.ts';
import type { StreamEndReason } from '../../../src-main/ipc/stream-types.ts';
import type { PodWire } from '../../../src-main/ipc/types.ts';
import { toUserError, type UserError } from '../../store/app-store.ts';
import { useStreams } from '../../store/streams-context.tsx';
import type { OpenStream } from '../../transport/stream-client.ts';
import { reportClose } from '../logs/use-log-stream.ts';
import { mirrorInlineStyles } from './csp-styles.ts';

/** bash where the image has it, else sh (busybox and distroless-with-shell images have only sh). */
export const SHELL_COMMAND = ['sh', '-c', 'command -v bash >/dev/null && exec bash || exec sh'];

type ShellState =
  | { phase: 'opening' }
  | { phase: 'live'; protocol: string }
  | { phase: 'ended'; reason: StreamEndReason; exitCode?: number; error?: IpcError }
  | { phase: 'failed'; error: UserError };

function endText(s: Extract<ShellState, { phase: 'ended' }>): string {
  if (s.error) return `The shell stopped: ${s.error.message}`;
  if (s.reason === 'ended')
    return s.exitCode === undefined ? 'The shell ended.' : `The shell ended with exit code ${s.exitCode}.`;
  if (s.reason === 'closed') return 'The shell was closed.';
  return 'The shell was stopped: main saw no one reading it.';
}

/**
 * An interactive shell in a pod's container: xterm.js over `streams:exec` with a TTY. Keystrokes
 * go out as `streams:write`, the terminal's size follows the panel (fit addon → `streams:resize`),
 * and the end says how it ended (exit code, closed, error with its fix).
 */
export function PodShell(props: { clusterId: string; pod: PodWire; container: string | undefined }) {
  const client = useStreams();
  const host = useRef<HTMLElement>(null);
  const [state, setState] = useState<ShellState>({ phase: 'opening' });
  const [inputError, setInputError] = useState<UserError | null>(null);
  const [attempt, setAttempt] = useState(0);
  const [shownSize, setShownSize] = useState<{ cols: number; rows: number } | null>(null);
  const { clusterId, container } = props;
  const { namespace, name } = props.pod;

  // biome-ignore lint/correctness/useExhaustiveDependencies: `attempt` starts a new shell.
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const term = new Terminal({
      fontFamily: 'ui-monospace, monospace',
      fontSize: 13,
      scrollback: 5_000,
      disableStdin: true,
      theme: { background: '#111111', foreground: '#dddddd' },
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    const unmirror = mirrorInlineStyles(el);
    term.open(el);
    fit.fit();
    let stream: OpenStream | null = null;
    let gone = false;
    let size = { cols: term.cols, rows: term.rows };
    setShownSize(size);
    setState({ phase: 'opening' });
    setInputError(null);
    const failedInput = (e: unknown) => {
      if (!gone) setInputError(toUserError(e));
    };
    client
      .start(
        'streams:exec',
        {
          clusterId,
          namespace,
          pod: name,
          ...(container ? { container } : {}),
          command: SHELL_COMMAND,
          tty: true,
          stdin: true,
          size,
        },
        {
          // With a TTY the API server merges stderr into stdout; both are written as they come.
          output: (o) => term.write((o.stdout ?? '') + (o.stderr ?? '')),
          end: (e) => {
            term.options.disableStdin = true;
            const ended = {
              phase: 'ended' as const,
              reason: e.reason,
              ...(e.exitCode !== undefined ? { exitCode: e.exitCode } : {}),
              ...(e.error ? { error: e.error } : {}),
            };
            term.write(`\r\n\x1b[2m[${endText(ended)}]\x1b[0m\r\n`);
            setState(ended);
          },
        },
      )
      .then(
        (s) => {
          if (gone) {
            void s.close().catch(reportClose);
            return;
          }
          stream = s;
          term.options.disableStdin = false;
          setState((st) =>
            st.phase === 'opening' ? { phase: 'live', protocol: s.opened.protocol ?? '' } : st,
          );
          // The panel may have changed size while the exec was being opened.
          if (term.cols !== size.cols || term.rows !== size.rows) {
            size = { cols: term.cols, rows: term.rows };
            setShownSize(size);
            s.resize(size.cols, size.rows).catch(failedInput);
          }
          term.focus();
        },
        (e: unknown) => {
          if (!gone) setState({ phase: 'failed', error: toUserError(e) });
        },
      );
    const typing = term.onData((data) => {
      stream?.write(data).catch(failedInput);
    });
    const observer = new ResizeObserver(() => {
      fit.fit();
      if (term.cols === size.cols && term.rows === size.rows) return;
      size = { cols: term.cols, rows: term.rows };
      setShownSize(size);
      stream?.resize(size.cols, size.rows).catch(failedInput);
    });
    observer.observe(el);
    return () => {
      gone = true;
      observer.disconnect();
      typing.dispose();
      stream?.close().catch(reportClose);
      term.dispose();
      unmirror();
    };
  }, [client, clusterId, namespace, name, container, attempt]);

  return (
    <div className="shell">
      <div className="shell-meta">
        {state.phase === 'opening' ? <output>Starting a shell…</output> : null}
        {state.phase === 'live' ? (
          <output data-state="live">
            Connected to {name}
            {container ? ` / ${container}` : ''} ({state.protocol || 'exec'}). Keys go to the pod; the
            terminal follows the panel’s size
            {shownSize ? (
              <>
                {' '}
                (<span data-field="terminal-size">{`${shownSize.cols}×${shownSize.rows}`}</span>)
              </>
            ) : null}
            .
          </output>
        ) : null}
        {state.phase === 'ended' ? (
          <output data-state="ended" className={state.error ? 'error' : undefined}>
            {endText(state)}
            {state.error?.fix ? <span className="fix"> {state.error.fix}</span> : null}{' '}
            <button type="button" className="link" onClick={() => setAttempt((a) => a + 1)}>
              Start a new shell
            </button>
          </output>
        ) : null}
        {state.phase === 'failed' ? (
          <div className="notice notice-error" role="alert">
            <strong>Could not start a shell: </strong>
            {state.error.message}
            {state.error.fix ? <div className="fix">{state.error.fix}</div> : null}
            <button type="button" className="secondary" onClick={() => setAttempt((a) => a + 1)}>
              Try again
            </button>
          </div>
        ) : null}
        {inputError ? (
          <p className="error" role="alert">
            Typing or resizing did not reach the pod: {inputError.message}
          </p>
        ) : null}
      </div>
      <section className="terminal-host" ref={host} aria-label={`Shell in ${name}`} />
    </div>
  );
}
