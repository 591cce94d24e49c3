/**
 * Wire types of output streams (pod logs, exec, agent service logs): what main pushes to the
 * renderer for a stream it opened. Every stream has an id made by main; its events carry that id
 * and a per-stream sequence number that the renderer acknowledges (`streams:ack`) so main never
 * runs ahead of a slow renderer by more than a few batches.
 */
import type { IpcError } from './errors.ts';

export type StreamKind = 'pod-logs' | 'exec' | 'service-logs';

/** What an open request answers with. */
export interface StreamOpened {
  streamId: string;
  kind: StreamKind;
  /** Exec only: the subprotocol the API server chose (`v5.channel.k8s.io`, or `v4.channel.k8s.io` on older servers). */
  protocol?: string;
}

/** One log line, shaped for search: the text without its newline, and when it was written. */
export interface StreamLogLine {
  /** RFC 3339 with the source's precision (kubelet: nanoseconds, journald: microseconds); absent if the source gave none. */
  ts?: string;
  line: string;
  /** Service logs: journald PRIORITY (0 emerg … 7 debug). */
  priority?: number;
  /** Set when the line was longer than the per-line limit and was cut. */
  truncated?: true;
}

/** `stream:lines`: the next batch of a log stream. */
export interface StreamLinesBatch {
  streamId: string;
  /** 1, 2, 3, … per stream; acknowledge it with `streams:ack`. */
  seq: number;
  lines: StreamLogLine[];
}

/** `stream:output`: the next batch of terminal output of an exec stream (UTF-8 decoded, split sequences kept whole). */
export interface StreamOutputBatch {
  streamId: string;
  seq: number;
  stdout?: string;
  stderr?: string;
}

export type StreamEndReason =
  /** The source ended on its own: logs without follow read to the end, the command exited. */
  | 'ended'
  /** `streams:close` was called. */
  | 'closed'
  /** No renderer receives events any more, or it stopped acknowledging batches. */
  | 'renderer-gone'
  | 'error';

/** `stream:end`: the last event of a stream, sent after every batch of it. */
export interface StreamEnd {
  streamId: string;
  reason: StreamEndReason;
  /** Exec: the command's exit code when it exited (0 for success). */
  exitCode?: number;
  /** Set with reason `error`: what failed and what the user can do (message + fix). */
  error?: IpcError;
}
