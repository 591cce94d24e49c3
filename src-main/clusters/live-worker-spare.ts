/**
 * One live-worker thread started ahead of need. A worker spends its first 0.5 s (quiet machine)
 * to 3 s (loaded one) compiling @kubernetes/client-node and our modules before it can send its
 * first request, which was most of the time to the first screen at 50 nodes and a third of it
 * at 5,000. A spare started with the app has done that work by the time the user opens a
 * cluster; it is told which cluster by an `init` message. Unref'd while idle, so it never keeps
 * the process alive.
 */
import { Worker } from 'node:worker_threads';

/** Source runs load the .ts entry; the bundled app ships live-worker.js beside main.js. */
const WORKER_URL = new URL(
  import.meta.url.endsWith('.ts') ? './live-worker.ts' : './live-worker.js',
  import.meta.url,
);

export function startLiveWorker(): Worker {
  const w = new Worker(WORKER_URL);
  // A spare that dies before use (e.g. terminated at shutdown) has nobody to tell; taking it
  // later finds it gone and starts a fresh one.
  w.once('error', () => {});
  return w;
}

export class WorkerSpare {
  private spare: { worker: Worker; exited: boolean } | null = null;
  private readonly start: () => Worker;

  constructor(start: () => Worker = startLiveWorker) {
    this.start = start;
  }

  /** Starts a spare unless one is ready. */
  warm(): void {
    if (this.spare && !this.spare.exited) return;
    const worker = this.start();
    worker.unref();
    const entry = { worker, exited: false };
    worker.once('exit', () => {
      entry.exited = true;
    });
    this.spare = entry;
  }

  /** The spare (ref'd again) if it is alive, else a fresh worker. */
  take(): Worker {
    const s = this.spare;
    this.spare = null;
    if (s && !s.exited) {
      s.worker.ref();
      return s.worker;
    }
    return this.start();
  }

  async close(): Promise<void> {
    const s = this.spare;
    this.spare = null;
    if (s && !s.exited) await s.worker.terminate();
  }
}
