import type { CacheSink } from '../cache-manager.ts';

/**
 * Feeds `body` to a cache sink in 64 KiB chunks the way the proxy does: after a write answered false
 * it waits for onDrain before the next chunk. Returns how many times it was held back.
 */
export async function feedLikeProxy(sink: CacheSink, body: Buffer, chunkBytes = 64 * 1024): Promise<number> {
  let waits = 0;
  for (let at = 0; at < body.length; at += chunkBytes) {
    if (sink.write(body.subarray(at, at + chunkBytes))) continue;
    waits++;
    await new Promise<void>((r) => sink.onDrain(r));
  }
  return waits;
}
