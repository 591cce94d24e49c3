/**
 * The demo fleet's wire shape (main → renderer). In its own file so the demo's additions stay
 * apart from the cluster data types other work reshapes.
 */
import type { IpcError } from './errors.ts';

/**
 * idle: nothing runs. building: first start, compiling the lab binaries (minutes, once).
 * starting: control plane, controller, nodes coming up (seconds). running: open `clusterId`.
 * stopping: tearing down. failed: `error` says why and how to fix it; nothing is left running.
 */
export type DemoState = 'idle' | 'building' | 'starting' | 'running' | 'stopping' | 'failed';

export interface DemoStatus {
  state: DemoState;
  /** One line for the UI: what is happening now. */
  detail: string;
  /** Nodes asked for (the fleet's size once running). */
  nodes?: number;
  /** building/starting: done and total steps, for a progress bar. */
  progress?: { done: number; total: number };
  /** building: what the first build usually takes on a 2-core machine. */
  expected?: string;
  /** ISO time the current start began (elapsed time on screen). */
  startedAt?: string;
  /** running: the cluster to open (`demo/<context>`), its API server and kubeconfig. */
  clusterId?: string;
  apiServerUrl?: string;
  kubeconfigPath?: string;
  /** Where this demo keeps its state and logs. */
  dir?: string;
  /** failed: the error; `logPath` points at the log to read when there is one. */
  error?: IpcError & { logPath?: string };
}
