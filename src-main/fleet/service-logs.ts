/**
 * The journal of an EdgeFleet agent unit on a provisioned host, over SSH: `journalctl -u <unit>
 * -o json`, one JSON object per line, read as it comes (follow) with SSH flow control as the
 * bound. Only our two units can be asked for, and the search pattern travels single-quoted.
 */
import { AppError } from '../ipc/errors.ts';
import type { StreamLogLine } from '../ipc/stream-types.ts';
import type { RemoteProcess } from '../provision/ssh-session.ts';
import { LineSplitter } from './line-splitter.ts';
import type { LogSink } from './pod-logs.ts';
import type { Pausable } from './stream-source.ts';

export const AGENT_UNITS = ['edgefleet-hub', 'edgefleet-tunnel-agent'] as const;
export type AgentUnit = (typeof AGENT_UNITS)[number];

export interface ServiceLogRequest {
  unit: AgentUnit;
  follow?: boolean;
  /** Most recent entries to start with (default 200). */
  lines?: number;
  /** journalctl --grep (PCRE2, case-insensitive unless it has capitals). */
  grep?: string;
  sinceSeconds?: number;
}

const MESSAGE_CHARS = 16 * 1024;

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

export function journalctlCommand(r: ServiceLogRequest): string {
  const args = [
    'journalctl',
    '-u',
    `${r.unit}.service`,
    '-o',
    'json',
    '--no-pager',
    '-n',
    String(r.lines ?? 200),
  ];
  if (r.grep) args.push(`--grep=${shellQuote(r.grep)}`);
  if (r.sinceSeconds !== undefined) args.push(`--since=-${r.sinceSeconds}s`);
  if (!r.follow) return `exec ${args.join(' ')}`;
  args.push('-f');
  // A followed journalctl outlives a closed SSH channel until it next writes; a watcher on the
  // channel's stdin (saved as fd 3: a background job's stdin is /dev/null) kills it at EOF.
  return `exec 3<&0; (cat <&3 >/dev/null 2>&1; kill $$ 2>/dev/null) >/dev/null 2>&1 & exec ${args.join(' ')} 3<&-`;
}

interface JournalEntry {
  MESSAGE?: string | number[] | null;
  __REALTIME_TIMESTAMP?: string;
  PRIORITY?: string;
}

/** One `journalctl -o json` line; binary messages come as byte arrays. */
export function parseJournalLine(text: string): StreamLogLine | undefined {
  let e: JournalEntry;
  try {
    e = JSON.parse(text) as JournalEntry;
  } catch {
    return text.trim() ? { line: text } : undefined;
  }
  let message =
    typeof e.MESSAGE === 'string'
      ? e.MESSAGE
      : Array.isArray(e.MESSAGE)
        ? Buffer.from(e.MESSAGE).toString('utf8')
        : '';
  const out: StreamLogLine = { line: '' };
  if (message.length > MESSAGE_CHARS) {
    message = message.slice(0, MESSAGE_CHARS);
    out.truncated = true;
  }
  out.line = message;
  const us = e.__REALTIME_TIMESTAMP;
  if (us && /^\d+$/.test(us)) {
    const iso = new Date(Number(us.slice(0, -3))).toISOString();
    out.ts = `${iso.slice(0, -1)}${us.slice(-3)}Z`;
  }
  if (e.PRIORITY && /^[0-7]$/.test(e.PRIORITY)) out.priority = Number(e.PRIORITY);
  return out;
}

/** Reads the process's JSON lines into `sink`; the remote's exit status ends the stream. */
export function readJournal(host: string, proc: RemoteProcess, sink: LogSink): Pausable {
  // journald's JSON of one entry can exceed a message's limit (many fields); allow for that.
  const splitter = new LineSplitter(256 * 1024);
  const errs: string[] = [];
  const emit = (lines: { text: string }[]) => {
    for (const l of lines) {
      const parsed = parseJournalLine(l.text);
      if (parsed) sink.line(parsed, parsed.line.length + 60);
    }
  };
  let closed = false;
  proc.stdout.on('data', (c: Buffer) => emit(splitter.push(c)));
  proc.stderr.on('data', (c: Buffer) => {
    if (errs.join('').length < 4096) errs.push(c.toString('utf8'));
  });
  proc.exit.then(
    ({ code }) => {
      emit(splitter.end());
      if (closed) return;
      // journalctl exits 1 when --grep matched nothing; that is an empty result, not a failure.
      const stderr = errs.join('').trim();
      if (code === 0 || (code === 1 && !stderr)) sink.end();
      else
        sink.end(
          new AppError(
            'ssh/journal-failed',
            `journalctl on ${host} failed (exit ${code}): ${stderr || 'no message'}`,
            /grep|pattern|regex/i.test(stderr)
              ? 'Check the search pattern (journalctl --grep takes a PCRE2 regular expression).'
              : 'Check that the user may read the system journal (root or the systemd-journal group).',
          ),
        );
    },
    (e: unknown) => {
      if (!closed) sink.end(e instanceof AppError ? e : new AppError('ssh/failed', String(e)));
    },
  );
  return {
    pause: () => proc.stdout.pause(),
    resume: () => proc.stdout.resume(),
    close: () => {
      closed = true;
      proc.close();
    },
  };
}
