import { describe, expect, it } from 'vitest';
import type { CacheSink } from './cache-manager.ts';
import { writeBehind } from './write-behind.ts';

/** A sink that records what it got and answers "full" while `full` is set. */
function recorder() {
  const got: string[] = [];
  const drains: (() => void)[] = [];
  let ended = false;
  const state = { full: false };
  const sink: CacheSink = {
    write: (c) => {
      got.push(c.toString());
      return !state.full;
    },
    onDrain: (cb) => (state.full ? drains.push(cb) : cb()),
    end: async () => {
      ended = true;
    },
  };
  const drain = () => {
    state.full = false;
    for (const cb of drains.splice(0)) cb();
  };
  return { got, sink, state, drain, ended: () => ended };
}

describe('writeBehind: the cache follows the response instead of sitting on its path', () => {
  it('queues chunks and feeds them to the sink on later turns, in order; end() waits for all', async () => {
    const r = recorder();
    const w = writeBehind(r.sink);
    expect(w.write(Buffer.from('a'))).toBe(true);
    expect(w.write(Buffer.from('b'))).toBe(true);
    // Nothing parsed or stored on the caller's turn: the client's bytes go first.
    expect(r.got).toEqual([]);
    await w.end();
    expect(r.got).toEqual(['a', 'b']);
    expect(r.ended()).toBe(true);
  });

  it('asks the producer to wait only past its bound or while the sink is full, and drains', async () => {
    const r = recorder();
    const w = writeBehind(r.sink, 4);
    expect(w.write(Buffer.from('12'))).toBe(true);
    expect(w.write(Buffer.from('345'))).toBe(false);
    await new Promise<void>((res) => w.onDrain(res));
    r.state.full = true;
    w.write(Buffer.from('6'));
    await new Promise((res) => setImmediate(res));
    expect(w.write(Buffer.from('7'))).toBe(false);
    let drained = false;
    w.onDrain(() => {
      drained = true;
    });
    expect(drained).toBe(false);
    r.drain();
    await w.end();
    expect(drained).toBe(true);
    expect(r.got.join('')).toBe('1234567');
  });
});
