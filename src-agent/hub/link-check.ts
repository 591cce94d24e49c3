import type { Upstream } from './upstream.ts';

/**
 * Tells a slow answer from a cut link while a proxied request waits for its response headers. A link
 * cut by dropped packets gives no error, only silence, and TCP would take minutes to say so; so once a
 * request has waited `suspectMs`, the same server's `/livez` (cheap, exempt from API priority and
 * fairness) is asked, and silence for `timeoutMs` more means the link is cut. A busy API server still
 * answers `/livez` at once, so a slow LIST is not taken for a cut.
 */
export class LinkCheck {
  private readonly upstream: Upstream;
  readonly suspectMs: number;
  private readonly timeoutMs: number;
  /**
   * One check per server at a time, shared by every request waiting on it. No answer is reused once
   * it came: an older "alive" says nothing of a cut since, and would stretch detection past the bound.
   */
  private readonly inFlight = new Map<string, Promise<string>>();
  checks = 0;

  constructor(upstream: Upstream, cutDetectionMs: number) {
    this.upstream = upstream;
    this.suspectMs = Math.max(1, Math.round(cutDetectionMs / 4));
    this.timeoutMs = Math.max(1, cutDetectionMs - this.suspectMs);
  }

  /**
   * Watches one request to `server` until `cancel` is called: each `suspectMs` without an answer the
   * link is checked, and `onCut` gets the reason once it proves cut — at most about `cutDetectionMs`
   * after the cut, as a check is always under way or due within `suspectMs`.
   */
  watch(server: URL, onCut: (reason: string) => void): () => void {
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const arm = (): void => {
      timer = setTimeout(() => {
        void this.check(server).then((dead) => {
          if (done) return;
          if (dead) {
            done = true;
            onCut(dead);
          } else arm();
        });
      }, this.suspectMs);
      timer.unref();
    };
    arm();
    return () => {
      done = true;
      clearTimeout(timer);
    };
  }

  /** '' when the server answered `/livez` (any status), else why the link counts as cut. */
  check(server: URL): Promise<string> {
    let p = this.inFlight.get(server.origin);
    if (!p) {
      p = this.ask(server).finally(() => this.inFlight.delete(server.origin));
      this.inFlight.set(server.origin, p);
    }
    return p;
  }

  private ask(server: URL): Promise<string> {
    this.checks++;
    return new Promise((resolve) => {
      const req = this.upstream.request(server, {
        method: 'GET',
        path: '/livez',
        headers: { accept: 'text/plain', 'user-agent': 'edgefleet-hub' },
      });
      const timer = setTimeout(
        () => req.destroy(new Error(`no answer, and ${server.origin}/livez silent for ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      req.on('response', (res) => {
        clearTimeout(timer);
        res.resume();
        resolve('');
      });
      req.on('error', (err) => {
        clearTimeout(timer);
        resolve(`link check: ${err.message}`);
      });
      req.end();
    });
  }
}
