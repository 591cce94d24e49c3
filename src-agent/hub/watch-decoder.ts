/** One event of a JSON watch stream. */
export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Record<string, unknown>;
}

/**
 * Splits a JSON watch stream into events as bytes arrive. The API server writes one JSON object per
 * event followed by a newline; chunk boundaries fall anywhere, so partial lines are kept until complete.
 */
export class WatchDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly maxEventBytes: number;
  /** Events that did not parse (counted, the stream continues). */
  malformed = 0;

  constructor(maxEventBytes = 16 * 1024 * 1024) {
    this.maxEventBytes = maxEventBytes;
  }

  push(chunk: Buffer): WatchEvent[] {
    const out: WatchEvent[] = [];
    let start = 0;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, i);
      const line = this.pending.length > 0 ? Buffer.concat([...this.pending, piece]) : piece;
      this.pending = [];
      this.pendingBytes = 0;
      start = i + 1;
      const ev = this.parse(line);
      if (ev) out.push(ev);
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.pendingBytes += rest.length;
      if (this.pendingBytes > this.maxEventBytes) {
        // A runaway line would grow memory without bound; drop it and resynchronise at the next newline.
        this.malformed++;
        this.pending = [];
        this.pendingBytes = 0;
      } else this.pending.push(Buffer.from(rest));
    }
    return out;
  }

  private parse(line: Buffer): WatchEvent | undefined {
    if (line.length === 0 || (line.length === 1 && line[0] === 13)) return undefined;
    try {
      const ev = JSON.parse(line.toString('utf8')) as WatchEvent;
      if (typeof ev?.type === 'string' && typeof ev.object === 'object' && ev.object !== null) return ev;
    } catch {
      // falls through to the count below
    }
    this.malformed++;
    return undefined;
  }
}
