import { describe, expect, test } from 'vitest';
import { WorkQueue } from './workqueue.ts';

describe('WorkQueue', () => {
  test('dedups queued keys and never hands one key to two workers', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('a');
    q.add('b');
    expect(q.length).toBe(2);
    const k = await q.get();
    expect(k).toBe('a');
    q.add('a'); // while processing: deferred until done
    expect(await q.get()).toBe('b');
    let third: string | undefined;
    const p = q.get().then((x) => {
      third = x;
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(third).toBeUndefined();
    q.done('a');
    await p;
    expect(third).toBe('a');
    q.shutdown();
    expect(await q.get()).toBeUndefined();
  });

  test('rate-limited requeue backs off exponentially per key and forget resets it', () => {
    const q = new WorkQueue({ baseMs: 10, maxMs: 50 });
    expect([
      q.addRateLimited('k'),
      q.addRateLimited('k'),
      q.addRateLimited('k'),
      q.addRateLimited('k'),
    ]).toEqual([10, 20, 40, 50]);
    expect(q.addRateLimited('other')).toBe(10);
    q.forget('k');
    expect(q.addRateLimited('k')).toBe(10);
    q.shutdown();
  });
});
