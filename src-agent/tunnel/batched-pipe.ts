import type { Readable, Writable } from 'node:stream';

/**
 * `src.pipe(dst)`, but writes that arrive in one turn of the event loop leave as one write.
 * An HTTP/2 stream over TLS hands its data to JS in pieces of at most one TLS record (16 KiB,
 * often half that), one callback each; piped as they come, every piece is its own syscall and
 * its own wake-up of the reader on the other end, and that ping-pong (not CPU) limited a bulk
 * stream to about a quarter of direct TCP. Corking until setImmediate (after the whole socket
 * read was parsed) sends them as one writev. Only bulk pieces start a batch, so a small
 * request/response is not delayed.
 */
/** A piece at least this large means bulk data is flowing. */
const BULK_PIECE_BYTES = 4096;

export function batchedPipe(src: Readable, dst: Writable): void {
  let corked = false;
  const flush = () => {
    corked = false;
    dst.uncork();
  };
  src.on('data', (chunk: Buffer) => {
    // Small pieces are interactive traffic (a keystroke, a short request): never held back.
    if (!corked && chunk.length >= BULK_PIECE_BYTES) {
      corked = true;
      dst.cork();
      setImmediate(flush);
    }
    if (!dst.write(chunk)) src.pause();
  });
  dst.on('drain', () => src.resume());
  src.once('end', () => {
    if (corked) flush();
    dst.end();
  });
}
