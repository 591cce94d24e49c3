import { readFile } from 'node:fs/promises';
import { HubConfigError, parseHubConfig } from '../api/hub-config.ts';
import { configFlag } from '../config-flag.ts';
import { trustOnlyClusterCa } from './default-ca.ts';
import { Hub } from './hub.ts';
import { stderrLogger } from './log.ts';

const DEFAULT_CONFIG = '/etc/edgefleet/hub.yaml';

/** `edgefleet-agent hub [--config /etc/edgefleet/hub.yaml]` — runs until SIGTERM/SIGINT. */
export async function run(args: string[]): Promise<void> {
  const path = configFlag(args, DEFAULT_CONFIG);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new HubConfigError(
      path,
      `cannot read (${(err as NodeJS.ErrnoException).code}); pass --config <file>`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new HubConfigError(
      path,
      `not JSON (the hub config is JSON, which is also YAML): ${(err as Error).message}`,
    );
  }
  const config = parseHubConfig(raw);
  await trustOnlyClusterCa(config.tls.caFile, stderrLogger);
  const hub = await Hub.start(config);
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      stderrLogger.info('hub.stopping', { signal: sig });
      hub.close().then(resolve, resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
