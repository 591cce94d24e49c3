import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Outbox } from './outbox.ts';

function make(opts: ConstructorParameters<typeof Outbox>[1] = {}) {
  const sent: { seq: number; items: number[] }[] = [];
  const events: string[] = [];
  const box = new Outbox<number, number[]>(
    {
      pack: (items) => items,
      send: (seq, items) => sent.push({ seq, items }),
      pause: () => events.push('pause'),
      resume: () => events.push('resume'),
      stalled: () => events.push('stalled'),
    },
    { flushMs: 10, window: 2, maxBatchBytes: 100, highWaterBytes: 300, ackTimeoutMs: 1000, ...opts },
  );
  return { box, sent, events };
}

describe('Outbox', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('gathers items for the flush window and sends them as one numbered batch', () => {
    const { box, sent } = make();
    box.push(1, 10);
    box.push(2, 10);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(10);
    expect(sent).toEqual([{ seq: 1, items: [1, 2] }]);
  });

  it('a slow renderer gets coalesced batches, and the source is paused at the high-water mark', () => {
    const { box, sent, events } = make();
    for (let i = 0; i < 4; i++) box.push(i, 100);
    vi.advanceTimersByTime(10);
    // Window of 2: two batches of 100 bytes out, the rest waits for an ack.
    expect(sent.map((s) => s.seq)).toEqual([1, 2]);
    for (let i = 4; i < 8; i++) box.push(i, 50);
    vi.advanceTimersByTime(100);
    expect(sent).toHaveLength(2);
    expect(box.bufferedBytes).toBe(400);
    expect(events).toEqual(['pause']);
    box.ack(2);
    // Batches are at most maxBatchBytes; two go out, and below half the high-water mark the source resumes.
    expect(sent.slice(2)).toEqual([
      { seq: 3, items: [2] },
      { seq: 4, items: [3] },
    ]);
    box.ack(4);
    expect(sent.slice(4)).toEqual([
      { seq: 5, items: [4, 5] },
      { seq: 6, items: [6, 7] },
    ]);
    expect(events).toEqual(['pause', 'resume']);
  });

  it('finish sends what is pending regardless of the window, then nothing more', () => {
    const { box, sent } = make({ window: 1 });
    box.push(1, 100);
    box.push(2, 100);
    vi.advanceTimersByTime(10);
    box.finish();
    expect(sent.map((s) => s.items)).toEqual([[1], [2]]);
    box.push(3, 1);
    vi.advanceTimersByTime(100);
    expect(sent).toHaveLength(2);
  });

  it('a renderer that stops acknowledging is reported as stalled', () => {
    const { box, events } = make();
    box.push(1, 1);
    vi.advanceTimersByTime(10);
    vi.advanceTimersByTime(999);
    expect(events).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(events).toEqual(['stalled']);
  });

  it('acks keep the stall timer from firing; stale and future acks are ignored', () => {
    const { box, events, sent } = make();
    box.push(1, 1);
    vi.advanceTimersByTime(10);
    vi.advanceTimersByTime(900);
    box.ack(7);
    box.ack(1);
    vi.advanceTimersByTime(5000);
    expect(events).toEqual([]);
    box.ack(1);
    expect(sent).toHaveLength(1);
  });

  it('held: nothing goes out until start', () => {
    const { box, sent } = make({ held: true });
    box.push(1, 1);
    vi.advanceTimersByTime(50);
    expect(sent).toEqual([]);
    box.start();
    expect(sent).toEqual([{ seq: 1, items: [1] }]);
  });
});
