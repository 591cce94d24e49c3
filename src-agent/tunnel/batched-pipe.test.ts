import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { batchedPipe } from './batched-pipe.ts';

/** A sink that records each write (writev counts once) and can hold its callbacks back. */
function sink(opts: { hold?: boolean } = {}) {
  const writes: Buffer[] = [];
  const held: (() => void)[] = [];
  const done = (cb: () => void) => (opts.hold ? held.push(cb) : cb());
  const w = new Writable({
    highWaterMark: 16,
    write(chunk: Buffer, _e, cb) {
      writes.push(chunk);
      done(cb);
    },
    writev(chunks, cb) {
      writes.push(Buffer.concat(chunks.map((c) => c.chunk as Buffer)));
      done(cb);
    },
  });
  return {
    w,
    writes,
    release: () => {
      for (const cb of held.splice(0)) cb();
    },
  };
}

describe('batchedPipe', () => {
  it('sends pieces that arrive in one turn as one write, in order, and passes the end on', async () => {
    const src = new PassThrough();
    const { w, writes } = sink();
    batchedPipe(src, w);
    const finished = new Promise((r) => w.once('finish', r));
    // Pieces emitted synchronously, as an HTTP/2 session does for one socket read.
    const pieces = ['a', 'b', 'c'].map((c) => Buffer.alloc(8192, c));
    for (const p of pieces) src.emit('data', p);
    await new Promise((r) => setImmediate(r));
    src.end('gh');
    await finished;
    expect(Buffer.concat(writes).toString()).toBe(`${Buffer.concat(pieces).toString()}gh`);
    expect(writes[0]?.equals(Buffer.concat(pieces))).toBe(true);
  });

  it('does not hold back a small piece (interactive traffic)', async () => {
    const src = new PassThrough();
    const { w, writes } = sink();
    batchedPipe(src, w);
    src.emit('data', Buffer.from('ls\n'));
    expect(writes.map(String)).toEqual(['ls\n']);
  });

  it('pauses the source while the destination is full and resumes on drain', async () => {
    const src = new PassThrough();
    const { w, release } = sink({ hold: true });
    batchedPipe(src, w);
    src.write(Buffer.alloc(64));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(src.isPaused()).toBe(true);
    release();
    await new Promise((r) => setImmediate(r));
    expect(src.isPaused()).toBe(false);
  });
});
