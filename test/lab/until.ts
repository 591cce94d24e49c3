import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `probe` every `intervalMs` until it returns a value other than undefined/false, for at most
 * `timeoutMs`; a probe that throws is retried, and its last error is in the timeout's message.
 */
export async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined | false>,
  intervalMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    await sleep(intervalMs);
  }
  const lastText = last instanceof Error ? last.message : last === undefined ? '' : String(last);
  throw new Error(
    `timed out after ${timeoutMs / 1000} s waiting for ${what}${lastText ? ` (last: ${lastText})` : ''}`,
  );
}
