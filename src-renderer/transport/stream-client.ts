/**
 * The renderer's end of main's output streams (pod logs, exec, agent service logs): opens a
 * stream, hands each of its events to the view that opened it (routed by stream id), acknowledges
 * every batch once the view has taken it (main runs at most a few batches ahead of that), and
 * closes it. Nothing here keeps output: views decide what to hold.
 */

import type { RequestOf } from '../../src-main/ipc/contract.ts';
import { STDIN_MAX_CHARS } from '../../src-main/ipc/contract.ts';
import type { IpcError } from '../../src-main/ipc/errors.ts';
import type { StreamEnd, StreamLogLine, StreamOpened } from '../../src-main/ipc/stream-types.ts';
import { IpcCallError, type Transport } from './transport.ts';

export type OpenChannel = 'streams:podLogs' | 'streams:exec' | 'streams:serviceLogs';

export interface StreamHandlers {
  /** Log streams: the next lines, in order. */
  lines?(lines: StreamLogLine[]): void;
  /** Exec: the next terminal output. */
  output?(out: { stdout?: string; stderr?: string }): void;
  /** Called once, last: main's `stream:end`, or the connection to main was lost. */
  end(end: StreamEnd): void;
}

export interface OpenStream {
  readonly id: string;
  readonly opened: StreamOpened;
  /** Exec stdin; a long paste goes as several writes, in order. */
  write(data: string): Promise<void>;
  resize(cols: number, rows: number): Promise<void>;
  /** Stops the stream; no handler is called after this. Safe to call twice or after the end. */
  close(): Promise<void>;
}

/** The `end` the client reports when the connection to main drops under an open stream. */
export const DISCONNECTED: IpcError = {
  code: 'ipc/disconnected',
  message: 'The connection to EdgeFleet was lost, and this stream with it.',
  fix: 'Open it again once the app is connected.',
};

export class StreamClient {
  private readonly transport: Transport;
  private readonly open = new Map<string, StreamHandlers>();
  private unsubscribe: (() => void) | null = null;

  constructor(transport: Transport) {
    this.transport = transport;
  }

  /** Streams open now (a view that forgot to close one shows here). */
  get openCount(): number {
    return this.open.size;
  }

  /**
   * Opens a stream; rejects with the error main answered (an IpcCallError with message and fix).
   * Main sends a stream's events only after this answer, so none can arrive before the id is known.
   */
  async start<C extends OpenChannel>(
    channel: C,
    input: RequestOf<C>,
    handlers: StreamHandlers,
  ): Promise<OpenStream> {
    this.listen();
    const opened = (await this.transport.invoke(channel, input)) as StreamOpened;
    const id = opened.streamId;
    this.open.set(id, handlers);
    return {
      id,
      opened,
      write: async (data) => {
        for (let i = 0; i < data.length; i += STDIN_MAX_CHARS)
          await this.transport.invoke('streams:write', {
            streamId: id,
            data: data.slice(i, i + STDIN_MAX_CHARS),
          });
      },
      resize: async (cols, rows) => {
        await this.transport.invoke('streams:resize', { streamId: id, cols, rows });
      },
      close: async () => {
        if (!this.open.delete(id)) return;
        try {
          await this.transport.invoke('streams:close', { streamId: id });
        } catch (e) {
          // Without a connection main has ended the stream itself (no receiver left).
          if (!(e instanceof IpcCallError && e.code === 'ipc/disconnected')) throw e;
        }
      },
    };
  }

  private listen(): void {
    if (this.unsubscribe) return;
    const t = this.transport;
    const offs = [
      t.on('stream:lines', (b) => this.batch(b.streamId, b.seq, (h) => h.lines?.(b.lines))),
      t.on('stream:output', (b) =>
        this.batch(b.streamId, b.seq, (h) =>
          h.output?.({
            ...(b.stdout !== undefined ? { stdout: b.stdout } : {}),
            ...(b.stderr !== undefined ? { stderr: b.stderr } : {}),
          }),
        ),
      ),
      t.on('stream:end', (e) => {
        const h = this.open.get(e.streamId);
        this.open.delete(e.streamId);
        h?.end(e);
      }),
      t.onState((state) => {
        if (state === 'open') return;
        for (const [streamId, h] of [...this.open]) {
          this.open.delete(streamId);
          h.end({ streamId, reason: 'error', error: DISCONNECTED });
        }
      }),
    ];
    this.unsubscribe = () => {
      for (const off of offs) off();
    };
  }

  /** Hands a batch to its view, then acknowledges it. Batches of streams not opened here are not ours. */
  private batch(streamId: string, seq: number, deliver: (h: StreamHandlers) => void): void {
    const h = this.open.get(streamId);
    if (!h) return;
    deliver(h);
    this.transport.invoke('streams:ack', { streamId, seq }).catch((e: unknown) => {
      // A failed ack means the connection is gone: onState ends the stream; anything else is a bug to see.
      if (!(e instanceof IpcCallError && e.code === 'ipc/disconnected'))
        console.error('streams:ack failed', e);
    });
  }
}
