/**
 * Output streams for the renderer: pod logs and exec through the API server, agent service logs
 * over SSH. Main makes each stream's id, batches its output through an Outbox (bounded,
 * acknowledged) and ends it with one `stream:end` — on its own end, on `streams:close`, when no
 * renderer receives events any more, or when the renderer stops acknowledging.
 */
import { randomBytes } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import type { KubeConfig } from '@kubernetes/client-node';
import type { EventSink } from '../ipc/contract.ts';
import { AppError } from '../ipc/errors.ts';
import type { IpcHandlers } from '../ipc/router.ts';
import type {
  StreamEnd,
  StreamEndReason,
  StreamKind,
  StreamLogLine,
  StreamOpened,
} from '../ipc/stream-types.ts';
import type { SshSession } from '../provision/ssh-session.ts';
import { Outbox, type OutboxOptions } from './outbox.ts';
import { type ExecHandle, openExec } from './pod-exec.ts';
import { type LogSink, openPodLogs } from './pod-logs.ts';
import { journalctlCommand, readJournal } from './service-logs.ts';
import type { Pausable } from './stream-source.ts';

type StreamHandlers = Pick<
  IpcHandlers,
  | 'streams:podLogs'
  | 'streams:exec'
  | 'streams:serviceLogs'
  | 'streams:write'
  | 'streams:resize'
  | 'streams:ack'
  | 'streams:close'
>;

export interface StreamsServiceOptions {
  emit: EventSink;
  kubeConfigFor: (clusterId: string) => Promise<KubeConfig>;
  /** An SSH session to a registered host, reached as provisioning reaches it. */
  openSsh: (hostId: string) => Promise<SshSession>;
  redact?: (text: string) => string;
  log?: (line: string) => void;
  /** Open streams at most (default 32): each holds a connection to the API server or a host. */
  maxStreams?: number;
  outbox?: OutboxOptions;
}

interface Stream {
  id: string;
  kind: StreamKind;
  outbox: Outbox<unknown, unknown>;
  /** Set once the source is connected; before that, close just marks the stream ended. */
  source?: Pausable;
  exec?: ExecHandle;
  /** Released when the stream ends (the SSH session of service logs). */
  release?: () => void;
  ended: boolean;
  /** False until the open request has answered; events wait for that. */
  announced: boolean;
  endEvent?: StreamEnd;
}

type ExecChunk = { fd: 1 | 2; text: string };

export class StreamsService {
  private readonly opts: StreamsServiceOptions;
  private readonly streams = new Map<string, Stream>();

  constructor(opts: StreamsServiceOptions) {
    this.opts = opts;
  }

  get openCount(): number {
    return this.streams.size;
  }

  private newStream<I, P>(
    kind: StreamKind,
    pack: (items: I[]) => P,
    send: (id: string, seq: number, p: P) => void,
  ) {
    const max = this.opts.maxStreams ?? 32;
    if (this.streams.size >= max)
      throw new AppError(
        'streams/too-many',
        `${max} log and terminal streams are open already.`,
        'Close a log view or terminal you no longer need.',
      );
    const id = `s-${randomBytes(8).toString('hex')}`;
    const stream: Stream = {
      id,
      kind,
      ended: false,
      announced: false,
      outbox: new Outbox<I, P>(
        {
          pack,
          send: (seq, p) => send(id, seq, p),
          pause: () => stream.source?.pause(),
          resume: () => stream.source?.resume(),
          stalled: () => this.end(stream, 'renderer-gone'),
        },
        { ...this.opts.outbox, held: true },
      ) as Outbox<unknown, unknown>,
    };
    this.streams.set(id, stream);
    return stream;
  }

  private logStream(kind: 'pod-logs' | 'service-logs'): { stream: Stream; sink: LogSink } {
    const stream = this.newStream<StreamLogLine, StreamLogLine[]>(
      kind,
      (lines) => lines,
      (streamId, seq, lines) => this.opts.emit('stream:lines', { streamId, seq, lines }),
    );
    return {
      stream,
      sink: {
        line: (l, bytes) => stream.outbox.push(l, bytes),
        end: (error) => this.end(stream, error ? 'error' : 'ended', error ? { error: error.toIpc() } : {}),
      },
    };
  }

  /** Connects a stream's source; a failure to connect removes the stream and answers the request with it. */
  private async connect(stream: Stream, open: () => Promise<Pausable>): Promise<void> {
    try {
      const source = await open();
      if (stream.ended) source.close();
      else stream.source = source;
    } catch (e) {
      stream.ended = true;
      this.streams.delete(stream.id);
      stream.release?.();
      throw e;
    }
    this.announce(stream);
  }

  private end(stream: Stream, reason: StreamEndReason, extra: Partial<StreamEnd> = {}): void {
    if (stream.ended) return;
    stream.ended = true;
    this.streams.delete(stream.id);
    stream.source?.close();
    stream.release?.();
    const redact = this.opts.redact ?? ((t: string) => t);
    const error = extra.error ? { ...extra.error, message: redact(extra.error.message) } : undefined;
    const event: StreamEnd = {
      streamId: stream.id,
      reason,
      ...(extra.exitCode !== undefined ? { exitCode: extra.exitCode } : {}),
      ...(error ? { error } : {}),
    };
    this.opts.log?.(
      `stream ${stream.id} (${stream.kind}) ended: ${reason}${error ? ` — ${error.message}` : ''}`,
    );
    if (stream.announced) this.emitEnd(stream, event);
    else stream.endEvent = event;
  }

  private emitEnd(stream: Stream, event: StreamEnd): void {
    stream.outbox.finish();
    this.opts.emit('stream:end', event);
  }

  /**
   * Lets a stream's events out once the open request's answer (with its id) is on its way: the
   * router sends that answer in the same turn the handler returns, so the next turn comes after it.
   */
  private announce(stream: Stream): void {
    setImmediate(() => {
      stream.announced = true;
      if (stream.endEvent) this.emitEnd(stream, stream.endEvent);
      else stream.outbox.start();
    });
  }

  private get(id: string): Stream {
    const s = this.streams.get(id);
    if (!s) throw new AppError('streams/unknown', `No open stream ${id}`, 'It ended; open it again.');
    return s;
  }

  private execOf(id: string): ExecHandle {
    const s = this.get(id);
    if (!s.exec) throw new AppError('streams/not-exec', `Stream ${id} is not a terminal`);
    return s.exec;
  }

  /** Ends every stream: the renderer went away (no event receiver left) or the app closes. */
  closeAll(reason: 'renderer-gone' | 'closed'): void {
    for (const s of [...this.streams.values()]) this.end(s, reason);
  }

  handlers(): StreamHandlers {
    return {
      'streams:podLogs': async (i) => {
        const kc = await this.opts.kubeConfigFor(i.clusterId);
        const { stream, sink } = this.logStream('pod-logs');
        await this.connect(stream, () => openPodLogs(kc, i, sink));
        return { streamId: stream.id, kind: stream.kind } satisfies StreamOpened;
      },
      'streams:serviceLogs': async (i) => {
        const { stream, sink } = this.logStream('service-logs');
        await this.connect(stream, async () => {
          const session = await this.opts.openSsh(i.hostId);
          stream.release = () => session.close();
          const proc = await session.spawn(journalctlCommand(i));
          return readJournal(session.target.host, proc, sink);
        });
        return { streamId: stream.id, kind: stream.kind } satisfies StreamOpened;
      },
      'streams:exec': async (i) => {
        const kc = await this.opts.kubeConfigFor(i.clusterId);
        const decoders = { 1: new StringDecoder('utf8'), 2: new StringDecoder('utf8') };
        const stream = this.newStream<ExecChunk, { stdout?: string; stderr?: string }>(
          'exec',
          (chunks) => {
            const out: { stdout?: string; stderr?: string } = {};
            for (const c of chunks) {
              const key = c.fd === 1 ? 'stdout' : 'stderr';
              out[key] = (out[key] ?? '') + c.text;
            }
            return out;
          },
          (streamId, seq, p) => this.opts.emit('stream:output', { streamId, seq, ...p }),
        );
        await this.connect(stream, async () => {
          const exec = await openExec(
            kc,
            {
              namespace: i.namespace,
              pod: i.pod,
              command: i.command,
              tty: i.tty ?? false,
              stdin: i.stdin ?? true,
              ...(i.container ? { container: i.container } : {}),
              ...(i.size ? { size: i.size } : {}),
            },
            {
              output: (fd, data) => {
                const text = decoders[fd].write(data);
                if (text) stream.outbox.push({ fd, text }, data.length);
              },
              end: ({ exitCode, error }) =>
                this.end(stream, error ? 'error' : 'ended', {
                  ...(exitCode !== undefined ? { exitCode } : {}),
                  ...(error ? { error: error.toIpc() } : {}),
                }),
            },
          );
          stream.exec = exec;
          return exec;
        });
        return {
          streamId: stream.id,
          kind: stream.kind,
          protocol: stream.exec?.protocol ?? '',
        } satisfies StreamOpened;
      },
      'streams:write': ({ streamId, data, eof }) => {
        const exec = this.execOf(streamId);
        if (data) exec.write(Buffer.from(data, 'utf8'));
        if (eof) exec.endStdin();
        return null;
      },
      'streams:resize': ({ streamId, cols, rows }) => {
        this.execOf(streamId).resize(cols, rows);
        return null;
      },
      'streams:ack': ({ streamId, seq }) => {
        // A late ack for a stream that just ended is normal, not an error.
        this.streams.get(streamId)?.outbox.ack(seq);
        return null;
      },
      'streams:close': ({ streamId }) => {
        const s = this.streams.get(streamId);
        if (s) this.end(s, 'closed');
        return null;
      },
    };
  }
}
