const HOUR_MS = 3_600_000;
const WINDOW_HOURS = 24;

/**
 * Seconds the cloud link was down in the last 24 h, kept as a ring of per-hour buckets (25 of
 * them: the current hour, 23 full ones and the one the window's start falls into), so memory is
 * fixed however often the link flaps. A closed offline period is spread exactly over the hours it
 * covered; the open one is counted up to now. The oldest bucket is counted pro rata for the part
 * of its hour still inside the window, so the figure is exact except within that one hour, where
 * it assumes the time offline was spread evenly.
 *
 * Only what this process saw: time the hub itself was not running is not offline time it knows of.
 */
export class OfflineWindow {
  /** ms offline per absolute hour number (Math.floor(t / HOUR_MS)), at index hour % size. */
  private readonly ms = new Float64Array(WINDOW_HOURS + 1);
  private readonly hourAt = new Float64Array(WINDOW_HOURS + 1).fill(-1);
  private offlineSince: number | undefined;

  /** `offlineAt`: when the hub starts it has not reached the cloud yet, which counts as offline. */
  constructor(offlineAt?: number) {
    this.offlineSince = offlineAt;
  }

  /** The link's state changed at `at` (ms since the epoch); repeated calls with the same state are ignored. */
  set(online: boolean, at: number): void {
    if (online && this.offlineSince !== undefined) {
      this.add(this.offlineSince, at);
      this.offlineSince = undefined;
    } else if (!online && this.offlineSince === undefined) this.offlineSince = at;
  }

  /** Seconds offline within (now − 24 h, now]. */
  seconds(now: number): number {
    const startMs = now - WINDOW_HOURS * HOUR_MS;
    const curHour = Math.floor(now / HOUR_MS);
    const firstHour = Math.floor(startMs / HOUR_MS);
    let total = 0;
    for (let h = firstHour; h <= curHour; h++) {
      const i = h % this.ms.length;
      if (this.hourAt[i] !== h) continue;
      const v = this.ms[i] ?? 0;
      if (h === firstHour) {
        // Share of the oldest hour still inside the window.
        const inside = (h + 1) * HOUR_MS - startMs;
        total += v * (inside / HOUR_MS);
      } else total += v;
    }
    if (this.offlineSince !== undefined) total += now - Math.max(this.offlineSince, startMs);
    return Math.round(total / 1000);
  }

  /** Spreads the offline period [from, to) over the hour buckets it covers. */
  private add(from: number, to: number): void {
    // Older than the ring can hold: only the part that can still be inside a window matters.
    let t = Math.max(from, to - (WINDOW_HOURS + 1) * HOUR_MS);
    while (t < to) {
      const h = Math.floor(t / HOUR_MS);
      const end = Math.min(to, (h + 1) * HOUR_MS);
      const i = h % this.ms.length;
      if (this.hourAt[i] !== h) {
        this.hourAt[i] = h;
        this.ms[i] = 0;
      }
      this.ms[i] = (this.ms[i] ?? 0) + (end - t);
      t = end;
    }
  }
}
