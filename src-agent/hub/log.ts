/** Structured one-line JSON logs to stderr (journald keeps them); never pass secrets in fields. */
export interface Logger {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

function write(level: string, event: string, fields?: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ ts: new Date().toISOString(), level, event, ...fields })}\n`);
}

export const stderrLogger: Logger = {
  info: (e, f) => write('info', e, f),
  warn: (e, f) => write('warn', e, f),
  error: (e, f) => write('error', e, f),
};

/** A logger that keeps lines in memory, for tests that assert something was logged. */
export class MemoryLogger implements Logger {
  readonly lines: { level: string; event: string; fields?: Record<string, unknown> }[] = [];
  info(event: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: 'info', event, fields });
  }
  warn(event: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: 'warn', event, fields });
  }
  error(event: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: 'error', event, fields });
  }
}
