/**
 * The lines a log view holds: the last `cap` of a stream (older ones are dropped and counted, so
 * a followed log cannot grow without bound), and the search over them (plain text, any case).
 */
import type { StreamLogLine } from '../../src-main/ipc/stream-types.ts';

export const LOG_LINES_KEPT = 50_000;

export class LogLines {
  readonly cap: number;
  private all: StreamLogLine[] = [];
  /** Lines dropped from the front to stay within `cap`. */
  dropped = 0;
  /** Changes on every append: a memo key for views. */
  version = 0;

  constructor(cap = LOG_LINES_KEPT) {
    this.cap = cap;
  }

  get lines(): readonly StreamLogLine[] {
    return this.all;
  }

  append(lines: readonly StreamLogLine[]): void {
    if (lines.length === 0) return;
    for (const l of lines) this.all.push(l);
    const over = this.all.length - this.cap;
    if (over > 0) {
      this.all.splice(0, over);
      this.dropped += over;
    }
    this.version++;
  }

  clear(): void {
    this.all = [];
    this.dropped = 0;
    this.version++;
  }
}

/** Indexes (into `lines`) of the lines containing `query`, ignoring case; every line when empty. */
export function matching(lines: readonly StreamLogLine[], query: string): number[] {
  const q = query.toLowerCase();
  const out: number[] = [];
  for (let i = 0; i < lines.length; i++)
    if (!q || (lines[i] as StreamLogLine).line.toLowerCase().includes(q)) out.push(i);
  return out;
}

/** `text` cut into pieces, each marked whether it is a match of `query` (any case), for highlighting. */
export function highlight(text: string, query: string): { text: string; hit: boolean }[] {
  if (!query) return [{ text, hit: false }];
  const lower = text.toLowerCase();
  const q = query.toLowerCase();
  const out: { text: string; hit: boolean }[] = [];
  let from = 0;
  for (let at = lower.indexOf(q); at >= 0; at = lower.indexOf(q, at + q.length)) {
    if (at > from) out.push({ text: text.slice(from, at), hit: false });
    out.push({ text: text.slice(at, at + q.length), hit: true });
    from = at + q.length;
  }
  if (from < text.length) out.push({ text: text.slice(from), hit: false });
  return out;
}
