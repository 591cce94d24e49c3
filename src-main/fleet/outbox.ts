/**
 * Bounded, acknowledged batching of one stream's output to the renderer. Output is gathered for a
 * short window and sent as one numbered batch; at most `window` batches may be unacknowledged.
 * While the renderer lags, output keeps coalescing into the pending batch, and once that holds
 * `highWaterBytes` the source is paused (HTTP/WebSocket/SSH flow control then stops the sender),
 * so memory stays bounded and nothing is dropped. Neither Electron's webContents.send nor the
 * browser host's socket tells us the renderer is slow; its acknowledgements do.
 */

export interface OutboxOptions {
  /** How long output is gathered before a batch goes out (default 50 ms). */
  flushMs?: number;
  /** Unacknowledged batches in flight before sending waits (default 4). */
  window?: number;
  /** Payload bytes per batch at most (default 256 KiB; one item may exceed it alone). */
  maxBatchBytes?: number;
  /** Pending bytes at which the source is paused (default 1 MiB); resumed below half of it. */
  highWaterBytes?: number;
  /** A batch unacknowledged this long means nobody is reading (default 60 s). */
  ackTimeoutMs?: number;
  /** Gather but send nothing until `start()` (the renderer does not know the stream's id yet). */
  held?: boolean;
}

export interface OutboxHooks<I, P> {
  /** Packs items into one event payload (lines as they are; exec chunks joined per channel). */
  pack(items: I[]): P;
  send(seq: number, payload: P): void;
  pause(): void;
  resume(): void;
  /** The renderer stopped acknowledging: the stream should end as `renderer-gone`. */
  stalled(): void;
}

export class Outbox<I, P> {
  private readonly hooks: OutboxHooks<I, P>;
  private readonly flushMs: number;
  private readonly window: number;
  private readonly maxBatchBytes: number;
  private readonly highWater: number;
  private readonly ackTimeoutMs: number;
  private pending: { item: I; bytes: number }[] = [];
  private pendingBytes = 0;
  private seq = 0;
  private acked = 0;
  private paused = false;
  private done = false;
  private held: boolean;
  private flushTimer: NodeJS.Timeout | undefined;
  private ackTimer: NodeJS.Timeout | undefined;

  constructor(hooks: OutboxHooks<I, P>, options: OutboxOptions = {}) {
    this.hooks = hooks;
    this.flushMs = options.flushMs ?? 50;
    this.window = options.window ?? 4;
    this.maxBatchBytes = options.maxBatchBytes ?? 256 * 1024;
    this.highWater = options.highWaterBytes ?? 1024 * 1024;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 60_000;
    this.held = options.held ?? false;
  }

  start(): void {
    this.held = false;
    this.sendWhileOpen();
  }

  /** Batches sent and not yet acknowledged. */
  get inFlight(): number {
    return this.seq - this.acked;
  }

  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  push(item: I, bytes: number): void {
    if (this.done) return;
    this.pending.push({ item, bytes });
    this.pendingBytes += bytes;
    if (!this.paused && this.pendingBytes >= this.highWater) {
      this.paused = true;
      this.hooks.pause();
    }
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      this.sendWhileOpen();
    }, this.flushMs);
  }

  /** The renderer has handled every batch up to `seq`. */
  ack(seq: number): void {
    if (seq <= this.acked || seq > this.seq) return;
    this.acked = seq;
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (this.inFlight > 0) this.armAckTimer();
    if (!this.flushTimer) this.sendWhileOpen();
  }

  /** Sends everything still pending, window or not (the stream is ending), and stops the timers. */
  finish(): void {
    if (this.done) return;
    while (this.pending.length) this.sendOne();
    this.done = true;
    clearTimeout(this.flushTimer);
    clearTimeout(this.ackTimer);
  }

  private sendWhileOpen(): void {
    while (!this.done && !this.held && this.pending.length && this.inFlight < this.window) this.sendOne();
  }

  private sendOne(): void {
    const items: I[] = [];
    let bytes = 0;
    while (this.pending.length) {
      const next = this.pending[0] as { item: I; bytes: number };
      if (items.length && bytes + next.bytes > this.maxBatchBytes) break;
      this.pending.shift();
      items.push(next.item);
      bytes += next.bytes;
    }
    this.pendingBytes -= bytes;
    this.seq++;
    if (!this.ackTimer) this.armAckTimer();
    this.hooks.send(this.seq, this.hooks.pack(items));
    if (this.paused && this.pendingBytes < this.highWater / 2) {
      this.paused = false;
      this.hooks.resume();
    }
  }

  private armAckTimer(): void {
    this.ackTimer = setTimeout(() => {
      if (!this.done && this.inFlight > 0) this.hooks.stalled();
    }, this.ackTimeoutMs);
  }
}
