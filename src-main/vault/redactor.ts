/**
 * Remembers secret values the process has handled so logs and error messages can be scrubbed
 * before they are written or sent. Multi-line secrets (PEM keys) are also matched line by line,
 * because a log line can carry a fragment.
 */
const MIN_LENGTH = 6;
export const REDACTED = '«redacted»';

export class Redactor {
  private readonly values = new Set<string>();

  remember(secret: string): void {
    const trimmed = secret.trim();
    if (trimmed.length >= MIN_LENGTH) this.values.add(trimmed);
    for (const line of trimmed.split('\n')) {
      const l = line.trim();
      // PEM armour lines are not secret and are everywhere; body lines are.
      if (l.length >= 16 && !l.startsWith('-----')) this.values.add(l);
    }
  }

  forget(secret: string): void {
    const trimmed = secret.trim();
    this.values.delete(trimmed);
    for (const line of trimmed.split('\n')) this.values.delete(line.trim());
  }

  redact(text: string): string {
    let out = text;
    // Longest first so a whole key is replaced before its lines are.
    for (const v of [...this.values].sort((a, b) => b.length - a.length)) {
      if (out.includes(v)) out = out.split(v).join(REDACTED);
    }
    return out;
  }
}
