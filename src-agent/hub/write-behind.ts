import type { CacheSink } from './cache-manager.ts';

/** Bytes of a response waiting for the cache before the cache asks the proxy to wait (lists only). */
export const WRITE_BEHIND_BYTES = 4 * 1024 * 1024;
/** Work done per turn of the event loop, so reading the cloud and writing the client come in between. */
const TURN_BYTES = 64 * 1024;

/**
 * Puts a cache sink behind the response instead of on its path: write() only queues the chunk (the
 * proxy has already handed it to the client), and the sink parses and stores queued chunks on later
 * turns of the event loop — after the socket reads and writes waiting meanwhile. Back-pressure is as
 * before, only later: the proxy is asked to wait once `maxBytes` are queued (or the sink itself is
 * full), and the sink's own stall watchdog and hold budget still bound that wait.
 */
export function writeBehind(sink: CacheSink, maxBytes = WRITE_BEHIND_BYTES): CacheSink {
  const queue: Buffer[] = [];
  let queued = 0;
  let sinkFull = false;
  let scheduled = false;
  let drainWaiters: (() => void)[] = [];
  let flushed: (() => void) | undefined;
  const roomy = () => !sinkFull && queued <= maxBytes / 2;
  const notify = (): void => {
    if (!roomy() || drainWaiters.length === 0) return;
    const ws = drainWaiters;
    drainWaiters = [];
    for (const cb of ws) cb();
  };
  const turn = (): void => {
    scheduled = false;
    let done = 0;
    while (queue.length > 0 && !sinkFull && done < TURN_BYTES) {
      const c = queue.shift() as Buffer;
      queued -= c.length;
      done += c.length;
      if (!sink.write(c)) {
        sinkFull = true;
        sink.onDrain(() => {
          sinkFull = false;
          schedule();
        });
      }
    }
    notify();
    if (queue.length > 0) schedule();
    else if (!sinkFull) flushed?.();
  };
  const schedule = (): void => {
    if (scheduled || sinkFull) return;
    scheduled = true;
    setImmediate(turn);
  };
  return {
    write: (c) => {
      queue.push(c);
      queued += c.length;
      schedule();
      return queued < maxBytes && !sinkFull;
    },
    onDrain: (cb) => {
      drainWaiters.push(cb);
      notify();
    },
    end: async () => {
      if (queue.length > 0 || sinkFull || scheduled)
        await new Promise<void>((r) => {
          flushed = r;
        });
      return sink.end();
    },
  };
}
