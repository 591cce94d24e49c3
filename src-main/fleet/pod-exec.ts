/**
 * Interactive exec through the API server: the Kubernetes exec WebSocket protocol, spoken with
 * `ws` directly. Each binary message starts with a channel byte: 0 stdin, 1 stdout, 2 stderr,
 * 3 error/status (a metav1.Status: exit code), 4 resize (JSON {Width,Height}); v5 adds 255 =
 * close one channel (stdin EOF without closing the socket). We offer v5 and fall back to v4.
 *
 * Why not client-node's Exec: it drops the API server's refusal body (403/400 become a bare
 * "Unexpected server response"), writes output with no backpressure, and sizes the terminal
 * only from a Node TTY stream; here the Status body becomes the error, the socket is paused
 * when the renderer lags, and resize is a call. Credentials still come from the KubeConfig.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import WebSocket from 'ws';
import { AppError } from '../ipc/errors.ts';
import { apiUnreachable, kubeTarget, readSome } from './kube-connect.ts';
import { streamError, targetOf } from './kube-errors.ts';
import type { Pausable } from './stream-source.ts';

export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
const RESIZE = 4;
const CLOSE = 255;

export interface ExecRequest {
  namespace: string;
  pod: string;
  container?: string;
  command: string[];
  tty: boolean;
  stdin: boolean;
  /** The terminal's size at open (sent on the resize channel right away). */
  size?: { cols: number; rows: number };
}

export interface ExecSink {
  output(fd: 1 | 2, data: Buffer): void;
  /** The command finished (`exitCode`), failed to run (`error`), or the connection broke (`error`). */
  end(result: { exitCode?: number; error?: AppError }): void;
}

export interface ExecHandle extends Pausable {
  readonly protocol: string;
  write(data: Buffer): void;
  /** Sends stdin EOF (v5 only; on v4 there is no way to half-close, so this is refused). */
  endStdin(): void;
  resize(cols: number, rows: number): void;
}

interface ExecStatus {
  status?: string;
  reason?: string;
  message?: string;
  details?: { causes?: { reason?: string; message?: string }[] };
}

/** The status channel's metav1.Status: Success → 0, NonZeroExitCode → its ExitCode cause, else a failure to run. */
export function exitOf(raw: string): { exitCode?: number; error?: AppError } {
  let s: ExecStatus;
  try {
    s = JSON.parse(raw) as ExecStatus;
  } catch {
    return { error: new AppError('kube/exec-failed', `The command failed: ${raw.slice(0, 500)}`) };
  }
  if (s.status === 'Success') return { exitCode: 0 };
  const code = s.details?.causes?.find((c) => c.reason === 'ExitCode')?.message;
  if (s.reason === 'NonZeroExitCode' && code !== undefined && /^\d+$/.test(code))
    return { exitCode: Number(code) };
  return {
    error: new AppError(
      'kube/exec-failed',
      `The command could not run: ${s.message ?? raw.slice(0, 500)}`,
      /not found|no such file/i.test(s.message ?? '')
        ? 'The command does not exist in the container image; images without a shell need a program they contain.'
        : undefined,
    ),
  };
}

function frame(channel: number, data?: Buffer): Buffer {
  const b = Buffer.alloc(1 + (data?.length ?? 0));
  b[0] = channel;
  data?.copy(b, 1);
  return b;
}

export async function openExec(kc: KubeConfig, r: ExecRequest, sink: ExecSink): Promise<ExecHandle> {
  const q = new URLSearchParams();
  for (const c of r.command) q.append('command', c);
  if (r.container) q.set('container', r.container);
  q.set('stdout', 'true');
  // With a TTY, stderr is merged into the terminal by the runtime; asking for it is an error.
  if (!r.tty) q.set('stderr', 'true');
  if (r.stdin) q.set('stdin', 'true');
  if (r.tty) q.set('tty', 'true');
  const path = `/api/v1/namespaces/${encodeURIComponent(r.namespace)}/pods/${encodeURIComponent(r.pod)}/exec`;
  const target = await kubeTarget(kc, path, q);
  target.url.protocol = target.url.protocol === 'http:' ? 'ws:' : 'wss:';
  const what = targetOf('create', 'exec', r);

  const ws = new WebSocket(target.url, [...EXEC_PROTOCOLS], {
    ...(target.options as WebSocket.ClientOptions),
    // Output frames are small; a terminal never needs large ones, and a huge one is a bug.
    maxPayload: 16 * 1024 * 1024,
  });
  await new Promise<void>((resolve, reject) => {
    let refused = false;
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (req, res) => {
      // The refusal's body says why (RBAC, no such container); read it before dropping the request.
      refused = true;
      void readSome(res).then((body) => {
        reject(streamError(what, res.statusCode ?? 0, body));
        req.destroy();
      });
    });
    ws.on('error', (e) => {
      if (!refused) reject(apiUnreachable(target.url, e));
    });
  });

  let ended = false;
  let closedByUs = false;
  const finish = (result: { exitCode?: number; error?: AppError }) => {
    if (ended) return;
    ended = true;
    sink.end(result);
  };
  ws.on('message', (data: Buffer, isBinary) => {
    if (!isBinary || data.length === 0) return;
    const channel = data[0];
    const body = data.subarray(1);
    if (channel === STDOUT && body.length) sink.output(1, body);
    else if (channel === STDERR && body.length) sink.output(2, body);
    else if (channel === STATUS) {
      finish(exitOf(body.toString('utf8')));
      ws.close(1000);
    }
  });
  ws.on('close', () => {
    if (closedByUs) return;
    finish({
      error: new AppError(
        'kube/exec-lost',
        `The exec connection to ${r.namespace}/${r.pod} closed before the command reported how it ended.`,
        'The API server or the link to the node went away; open the terminal again.',
      ),
    });
  });
  const send = (b: Buffer) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(b);
  };
  const resize = (cols: number, rows: number) =>
    send(frame(RESIZE, Buffer.from(JSON.stringify({ Width: cols, Height: rows }))));
  if (r.tty && r.size) resize(r.size.cols, r.size.rows);
  const protocol = ws.protocol;
  return {
    protocol,
    write: (data) => send(frame(STDIN, data)),
    endStdin: () => {
      if (protocol !== EXEC_PROTOCOLS[0])
        throw new AppError(
          'kube/no-stdin-close',
          `The API server speaks ${protocol || 'an old exec protocol'}, which cannot close stdin alone.`,
          'Close the stream instead, or end the input the way the program expects (e.g. type exit).',
        );
      send(Buffer.from([CLOSE, STDIN]));
    },
    resize,
    pause: () => ws.pause(),
    resume: () => ws.resume(),
    close: () => {
      closedByUs = true;
      ws.close(1000);
      // A peer that never answers the close handshake must not keep the socket.
      setTimeout(() => ws.terminate(), 2_000).unref();
    },
  };
}
