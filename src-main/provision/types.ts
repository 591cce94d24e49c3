/**
 * Provisioning's own shapes. Progress and log lines on the wire are the IPC contract's
 * (ProvisionProgress / ProvisionLogLine in src-main/ipc/types.ts); these are the in-process
 * shapes steps and plans are built from.
 */
import type { ProvisionHostResult, ProvisionLogLine, ProvisionProgress } from '../ipc/types.ts';

export type { ProvisionLogLine, ProvisionProgress };

/** What a step can do to the host; a step only touches the host through this. */
export interface RemoteShell {
  /** Host name as the user knows it (for messages). */
  readonly host: string;
  /**
   * Runs a POSIX sh script as root (directly for root, else through `sudo -n`).
   * Resolves with the exit code whatever it is; rejects only when the connection failed.
   */
  sh(
    script: string,
    opts?: { input?: string | Buffer; timeoutMs?: number; log?: boolean },
  ): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Opens a root shell whose stdin is a byte stream (uploads). */
  pipe(script: string): Promise<RemotePipe>;
}

export interface RemotePipe {
  write(chunk: Buffer): Promise<void>;
  /** Ends stdin and waits for the command to finish. */
  end(): Promise<{ code: number | null; stderr: string }>;
  /** Bytes written so far. */
  readonly sent: number;
}

export interface StepContext<F> {
  readonly host: string;
  readonly remote: RemoteShell;
  /** Facts learned by earlier steps (preflight), persisted in the run's state file. */
  facts: F;
  /** Reports how far the step is; percent 0–100, bytes for transfers. */
  progress(percent: number, bytes?: { sent: number; total: number }, message?: string): void;
  log(line: string, stream?: 'stdout' | 'stderr' | 'info'): void;
  /** Set by the runner: the run was cancelled (batch stop); long steps check it. */
  readonly signal: AbortSignal;
}

/**
 * One named, idempotent unit of a plan. `check` answers "is this already done?" (then apply is
 * skipped); `undo` reverses what `apply` changed when a later step of the same run fails.
 */
export interface Step<F> {
  name: string;
  /** One line for the UI, e.g. "Upload the Node runtime". */
  title: string;
  check?(ctx: StepContext<F>): Promise<boolean>;
  apply(ctx: StepContext<F>): Promise<void>;
  undo?(ctx: StepContext<F>): Promise<void>;
}

export interface Plan<F> {
  /** e.g. "convert", "revert". */
  name: string;
  steps: Step<F>[];
  initialFacts: F;
}

/** The outcome of one host's run, as the batch summary shows it (the wire shape). */
export type HostRunResult = ProvisionHostResult;
