/** Entry of `edgefleet-agent controller`: parse flags, run until SIGTERM/SIGINT or lost leadership. */
import { parseFlags } from './flags.ts';
import { startController } from './manager.ts';
import { consoleLog } from './runner.ts';

export async function run(args: string[]): Promise<void> {
  const flags = parseFlags(args);
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const { done } = await startController(flags, ac.signal, consoleLog);
  await done;
  if (!ac.signal.aborted) {
    // Leadership lost: exit non-zero so the supervisor restarts us as a fresh candidate.
    throw new Error('lost leadership');
  }
}
