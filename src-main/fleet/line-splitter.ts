/**
 * Bytes → lines, UTF-8 safe across chunk boundaries, with a per-line limit: a line that never
 * ends (a binary blob, a runaway writer) is cut at `maxLineChars` and the rest of it skipped,
 * so one line can never grow without bound.
 */
import { StringDecoder } from 'node:string_decoder';

export interface SplitLine {
  text: string;
  truncated: boolean;
}

export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private readonly maxLineChars: number;
  private partial = '';
  private skipping = false;

  constructor(maxLineChars = 16 * 1024) {
    this.maxLineChars = maxLineChars;
  }

  push(chunk: Buffer): SplitLine[] {
    return this.split(this.decoder.write(chunk));
  }

  /** The last line when the source ended without a newline. */
  end(): SplitLine[] {
    const out = this.split(this.decoder.end());
    if (this.partial && !this.skipping) out.push({ text: this.partial, truncated: false });
    this.partial = '';
    return out;
  }

  private split(text: string): SplitLine[] {
    const out: SplitLine[] = [];
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      const piece = text.slice(start, nl === -1 ? undefined : nl);
      if (!this.skipping) this.partial += piece;
      if (this.partial.length > this.maxLineChars) {
        out.push({ text: this.partial.slice(0, this.maxLineChars), truncated: true });
        this.partial = '';
        this.skipping = true;
      }
      if (nl === -1) break;
      if (!this.skipping) out.push({ text: stripCr(this.partial), truncated: false });
      this.partial = '';
      this.skipping = false;
      start = nl + 1;
    }
    return out;
  }
}

function stripCr(s: string): string {
  return s.endsWith('\r') ? s.slice(0, -1) : s;
}
