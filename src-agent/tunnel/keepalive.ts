import type { Http2Session } from 'node:http2';

/**
 * Sends an HTTP/2 PING every interval and declares the link dead when one is not acknowledged
 * within the timeout. TCP alone would take minutes to notice a link that silently drops
 * everything (half-open); this bounds it to interval + timeout.
 */
export function startKeepalive(
  session: Http2Session,
  opts: {
    intervalMs: number;
    timeoutMs: number;
    onRtt?: (ms: number) => void;
    onDead: (reason: string) => void;
  },
): () => void {
  let waiting: NodeJS.Timeout | null = null;
  let stopped = false;
  const tick = () => {
    if (stopped || waiting || session.destroyed || session.closed) return;
    const sentAt = Date.now();
    waiting = setTimeout(() => {
      if (stopped) return;
      stopped = true;
      opts.onDead(`no PING acknowledgement within ${opts.timeoutMs} ms (link down or half-open)`);
    }, opts.timeoutMs);
    const sent = session.ping((err, rttMs) => {
      if (waiting) clearTimeout(waiting);
      waiting = null;
      if (err || stopped) return; // a destroyed session reports itself through 'close'
      opts.onRtt?.(rttMs ?? Date.now() - sentAt);
    });
    if (!sent) {
      // Too many PINGs outstanding would itself mean the peer is not answering.
      if (waiting) clearTimeout(waiting);
      waiting = null;
    }
  };
  const timer = setInterval(tick, opts.intervalMs);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
    if (waiting) clearTimeout(waiting);
  };
}
