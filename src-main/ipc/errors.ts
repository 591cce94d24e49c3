/**
 * Errors cross the IPC boundary as plain values: the renderer cannot receive Error objects
 * intact over structured clone or JSON, and a user-facing `fix` belongs next to the message.
 */
export interface IpcError {
  /** Stable machine-readable code, e.g. `vault/no-keychain`, `ipc/invalid-input`. */
  code: string;
  message: string;
  /** What the user can do about it, when we know. */
  fix?: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: IpcError };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail(code: string, message: string, fix?: string): { ok: false; error: IpcError } {
  return { ok: false, error: fix === undefined ? { code, message } : { code, message, fix } };
}

/**
 * A service error that knows its IPC shape. Services throw it; the router turns it into a
 * `{ ok: false }` value so handlers stay simple.
 */
export class AppError extends Error {
  readonly code: string;
  readonly fix: string | undefined;
  constructor(code: string, message: string, fix?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AppError';
    this.code = code;
    this.fix = fix;
  }

  toIpc(): IpcError {
    return this.fix === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, fix: this.fix };
  }
}
