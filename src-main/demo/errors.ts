/**
 * Why a demo start failed, as the user reads it: one message, what to do about it, and the log
 * to open. Pure (message patterns in, IPC error out), so each case is unit-tested.
 */
import type { IpcError } from '../ipc/errors.ts';
import { LabProcessError } from './proc.ts';
import { LabPrerequisiteError } from './toolchain.ts';

export type DemoError = IpcError & { logPath?: string };

export function demoError(e: unknown, buildLogPath: string): DemoError {
  const message = e instanceof Error ? e.message : String(e);
  const firstLine = message.split('\n')[0] ?? message;
  if (e instanceof LabPrerequisiteError) {
    // The prerequisite checks say "<what is wrong>: <how to fix it>" in one line.
    const at = firstLine.lastIndexOf(': ');
    const fix = at > 0 ? firstLine.slice(at + 2) : undefined;
    const what = at > 0 ? firstLine.slice(0, at) : firstLine;
    const code = /^Go toolchain/.test(what)
      ? 'demo/go-missing'
      : /Debian package/.test(what)
        ? 'demo/packages-missing'
        : 'demo/prerequisite';
    return withFix({ code, message: `Cannot build the demo's Kubernetes binaries: ${what}.` }, fix);
  }
  if (/lab binary build failed/.test(message)) {
    return {
      code: 'demo/build-failed',
      message: `Building the demo's Kubernetes binaries failed: ${firstLine.replace(/^lab binary build failed /, '')}`,
      fix: `Read ${buildLogPath}, fix the cause (network to the Go module proxy, disk space), then start again: the build resumes.`,
      logPath: buildLogPath,
    };
  }
  const logPath = e instanceof LabProcessError && e.logPath ? e.logPath : undefined;
  if (/address already in use|EADDRINUSE/i.test(message)) {
    return withLog(
      {
        code: 'demo/port-busy',
        message: `A demo program could not listen on its port: ${firstLine}`,
        fix: 'Another program took the port; start the demo again (it picks new free ports on 127.0.0.1).',
      },
      logPath,
    );
  }
  if (/already running in/.test(message)) {
    return {
      code: 'demo/already-running',
      message: `Another EdgeFleet already runs the demo fleet: ${firstLine}`,
      fix: 'Use that window, or quit it (the demo stops with it) and start again here.',
    };
  }
  return withLog(
    {
      code: 'demo/start-failed',
      message: `The demo fleet did not start: ${firstLine}`,
      fix: logPath
        ? `Read ${logPath} for the cause, then start again.`
        : 'Start again; if it fails the same way, read the logs in the demo directory.',
    },
    logPath,
  );
}

function withFix(e: DemoError, fix: string | undefined): DemoError {
  return fix ? { ...e, fix } : e;
}

function withLog(e: DemoError, logPath: string | undefined): DemoError {
  return logPath ? { ...e, logPath } : e;
}
