/**
 * Runs a plan on one host: steps in order, each skipped when its check says it is already done,
 * progress and a full log for every step, a state file so an interrupted run (laptop asleep, link
 * down) resumes at the first step not yet completed, and rollback of what this run applied when a
 * step fails for a reason other than the connection.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeJsonAtomic } from '../../src-agent/api/atomic-file.ts';
import { AppError, type IpcError } from '../ipc/errors.ts';
import type { ProvisionLogLine, ProvisionProgress } from '../ipc/types.ts';
import { HostKeyUnknownError } from './ssh-session.ts';
import type { HostRunResult, Plan, RemoteShell, Step, StepContext } from './types.ts';

/** Refusing dangerous input: nothing was changed, nothing to roll back. */
export class RefusedError extends AppError {
  constructor(code: string, message: string, fix?: string) {
    super(code.startsWith('refused/') ? code : `refused/${code}`, message, fix);
    this.name = 'RefusedError';
  }
}

/** The connection went away (cut link, sleep, reboot): resume later instead of rolling back. */
const TRANSIENT_CODES = new Set([
  'ssh/unreachable',
  'ssh/timeout',
  'ssh/connection-lost',
  'ssh/failed',
  'ssh/jump-failed',
  // The tunnel agent reconnects after a link drop; a missing door is usually a network problem too.
  'tunnel/no-agent',
  'tunnel/door-unreachable',
]);

export function isTransient(e: unknown): boolean {
  return e instanceof AppError && TRANSIENT_CODES.has(e.code);
}

export function toIpcError(e: unknown): IpcError {
  if (e instanceof AppError) return e.toIpc();
  return { code: 'provision/internal', message: e instanceof Error ? e.message : String(e) };
}

/** Persisted per host and run: `<stateDir>/<runId>/<host>.json`. */
interface RunState<F> {
  runId: string;
  host: string;
  plan: string;
  status: 'running' | 'interrupted' | 'done' | 'failed' | 'refused';
  /** Steps finished (applied or found done), in order. */
  completed: string[];
  /** Steps whose apply() ran in this run: what a rollback must undo. */
  applied: string[];
  skipped: string[];
  bytesSent: number;
  facts: F;
  updatedAt: string;
}

export interface Connection {
  remote: RemoteShell;
  close(): void;
}

export interface RunOptions {
  runId: string;
  /** Where state files and logs go (per run, per host). */
  stateDir: string;
  /** Opens a connection; called again after the link drops. `log` receives the commands' output. */
  connect: (log: (line: string, stream: 'stdout' | 'stderr') => void) => Promise<Connection>;
  onProgress?: (p: ProvisionProgress) => void;
  onLog?: (l: ProvisionLogLine) => void;
  /** Reconnect attempts after a connection loss before giving up as "interrupted" (default 6). */
  maxReconnects?: number;
  /** First reconnect delay; doubles up to 15 s (default 1 s). */
  reconnectDelayMs?: number;
  signal?: AbortSignal;
}

function safeName(host: string): string {
  return host.replace(/[^A-Za-z0-9._-]/g, '_');
}

export async function runPlan<F>(host: string, plan: Plan<F>, opts: RunOptions): Promise<HostRunResult> {
  const started = Date.now();
  const dir = join(opts.stateDir, safeName(opts.runId));
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const statePath = join(dir, `${safeName(host)}.json`);
  const logFile = join(dir, `${safeName(host)}.log`);
  const logStream: WriteStream = createWriteStream(logFile, { flags: 'a', mode: 0o600 });
  const signal = opts.signal ?? new AbortController().signal;

  const state: RunState<F> = (await readState<F>(statePath)) ?? {
    runId: opts.runId,
    host,
    plan: plan.name,
    status: 'running',
    completed: [],
    applied: [],
    skipped: [],
    bytesSent: 0,
    facts: plan.initialFacts,
    updatedAt: new Date().toISOString(),
  };
  if (state.plan !== plan.name)
    throw new AppError(
      'provision/state-mismatch',
      `run ${opts.runId} on ${host} was a "${state.plan}" run, not "${plan.name}"`,
      'Start a new run (new run id).',
    );
  const resumed = state.completed.length > 0 && state.status !== 'done';
  state.status = 'running';
  const save = async () => {
    state.updatedAt = new Date().toISOString();
    // fsynced: a run resumed after a crash or power loss must find the steps it completed.
    await writeJsonAtomic(statePath, state);
  };

  const log = (line: string, stream: ProvisionLogLine['stream'] = 'info') => {
    const at = new Date().toISOString();
    for (const l of line.split('\n')) {
      if (l === '') continue;
      logStream.write(`${at} ${host} ${stream} ${l}\n`);
      opts.onLog?.({ runId: opts.runId, host, at, stream, line: l });
    }
  };
  const total = plan.steps.length;
  const emit = (step: Step<F>, index: number, p: Partial<ProvisionProgress>) => {
    const event: ProvisionProgress = {
      runId: opts.runId,
      host,
      step: step.name,
      stepIndex: index,
      stepCount: total,
      status: 'running',
      percent: 0,
      ...p,
    };
    opts.onProgress?.(event);
  };

  log(`${resumed ? 'resuming' : 'starting'} ${plan.name} (run ${opts.runId})`);
  let conn: Connection | undefined;
  let reconnects = 0;
  const maxReconnects = opts.maxReconnects ?? 6;
  const result = (status: HostRunResult['status'], extra: Partial<HostRunResult> = {}): HostRunResult => ({
    host,
    plan: plan.name,
    status,
    applied: [...state.applied],
    skipped: [...state.skipped],
    rolledBack: [],
    bytesSent: state.bytesSent,
    durationMs: Date.now() - started,
    logFile,
    ...extra,
  });

  try {
    let index = 0;
    while (index < total) {
      const step = plan.steps[index] as Step<F>;
      if (state.completed.includes(step.name)) {
        if (resumed) log(`step ${step.name}: already completed in this run`);
        index++;
        continue;
      }
      let stepBytes = 0;
      try {
        if (signal.aborted) throw new AppError('provision/cancelled', 'the run was cancelled');
        conn ??= await opts.connect(log);
        const ctx: StepContext<F> = {
          host,
          remote: conn.remote,
          facts: state.facts,
          signal,
          log,
          progress: (percent, bytes, message) => {
            if (bytes) stepBytes = bytes.sent;
            emit(step, index, {
              percent: Math.max(0, Math.min(100, Math.round(percent))),
              ...(bytes ? { bytes } : {}),
              ...(message ? { message } : {}),
            });
          },
        };
        emit(step, index, { message: step.title });
        log(`step ${step.name}: ${step.title}`);
        if (step.check && (await step.check(ctx))) {
          log(`step ${step.name}: already done, skipped`);
          state.skipped.push(step.name);
          emit(step, index, { status: 'skipped', percent: 100 });
        } else {
          await step.apply(ctx);
          state.applied.push(step.name);
          emit(step, index, { status: 'done', percent: 100 });
          log(`step ${step.name}: done`);
        }
        state.bytesSent += stepBytes;
        state.completed.push(step.name);
        reconnects = 0;
        await save();
        index++;
      } catch (e) {
        state.bytesSent += stepBytes;
        if (isTransient(e) && reconnects < maxReconnects && !signal.aborted) {
          // Same step again on a new connection; the step's check/resume logic picks up where it was.
          reconnects++;
          const delay = Math.min(15_000, (opts.reconnectDelayMs ?? 1000) * 2 ** (reconnects - 1));
          log(
            `step ${step.name}: connection lost (${(e as Error).message}); reconnecting in ${delay} ms (attempt ${reconnects}/${maxReconnects})`,
            'stderr',
          );
          emit(step, index, { message: `connection lost, reconnecting (${reconnects}/${maxReconnects})` });
          conn?.close();
          conn = undefined;
          await save();
          await sleep(delay, undefined, { signal }).catch(() => undefined);
          continue;
        }
        const error = toIpcError(e);
        emit(step, index, { status: 'failed', error, message: error.message });
        log(
          `step ${step.name}: FAILED: ${error.message}${error.fix ? ` — fix: ${error.fix}` : ''}`,
          'stderr',
        );
        if (isTransient(e)) {
          // Nothing is rolled back over a dead link; the state file lets the next run continue.
          state.status = 'interrupted';
          await save();
          log(`run interrupted at step ${step.name}; run again with run id ${opts.runId} to resume`);
          return result('interrupted', { failedStep: step.name, error });
        }
        if (e instanceof HostKeyUnknownError) {
          // Nothing ran on the host; the user has to look at the fingerprint and accept it first.
          state.status = 'failed';
          await save();
          return result('failed', {
            failedStep: step.name,
            error,
            hostKey: { host: e.host, port: e.port, keyType: e.keyType, fingerprint: e.fingerprint },
          });
        }
        const refused = e instanceof RefusedError;
        // The failed step is undone too: its apply may have changed part of what it meant to.
        const rollback = refused
          ? { rolledBack: [], errors: [] }
          : await rollBack(plan, state, step.name, conn, log);
        state.status = refused ? 'refused' : 'failed';
        await save();
        return result(refused ? 'refused' : 'failed', {
          failedStep: step.name,
          error,
          rolledBack: rollback.rolledBack,
          ...(rollback.errors.length ? { rollbackErrors: rollback.errors } : {}),
        });
      }
    }
    state.status = 'done';
    await save();
    log(`${plan.name} finished in ${Date.now() - started} ms`);
    return result('done');
  } finally {
    conn?.close();
    await new Promise((r) => logStream.end(r));
  }

  async function rollBack(
    p: Plan<F>,
    s: RunState<F>,
    failed: string,
    c: Connection | undefined,
    say: typeof log,
  ): Promise<{ rolledBack: string[]; errors: IpcError[] }> {
    const rolledBack: string[] = [];
    const errors: IpcError[] = [];
    const toUndo = p.steps
      .filter((st) => (s.applied.includes(st.name) || st.name === failed) && st.undo)
      .reverse();
    if (!toUndo.length) return { rolledBack, errors };
    say(`rolling back: ${toUndo.map((st) => st.name).join(', ')}`);
    let connection = c;
    for (const st of toUndo) {
      try {
        connection ??= await opts.connect(say);
        const ctx: StepContext<F> = {
          host,
          remote: connection.remote,
          facts: s.facts,
          signal: new AbortController().signal,
          log: say,
          progress: () => undefined,
        };
        await st.undo?.(ctx);
        rolledBack.push(st.name);
        s.applied = s.applied.filter((n) => n !== st.name);
        s.completed = s.completed.filter((n) => n !== st.name);
        say(`step ${st.name}: rolled back`);
      } catch (e) {
        const err = toIpcError(e);
        errors.push(err);
        say(`step ${st.name}: ROLLBACK FAILED: ${err.message}`, 'stderr');
      }
    }
    if (connection !== c) connection?.close();
    return { rolledBack, errors };
  }
}

async function readState<F>(path: string): Promise<RunState<F> | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as RunState<F>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new AppError(
      'provision/state-unreadable',
      `run state ${path} is unreadable: ${(e as Error).message}`,
      'Remove the file to start this host over (the host itself is not changed by that).',
    );
  }
}
