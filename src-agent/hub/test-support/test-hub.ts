import { readFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../test/lab/proc.ts';
import type { HubConfig } from '../../api/hub-config.ts';
import { Hub, type HubOptions } from '../hub.ts';
import { MemoryLogger } from '../log.ts';
import { FakeApiServer, makeTestPki } from './fake-apiserver.ts';

/** Objects the fake API server holds before the hub first connects. */
export type SeedApi = (api: FakeApiServer) => void;

/** A hub in front of a fake API server in a temp dir; `stop()` removes everything. */
export async function startTestHub(
  prefix: string,
  extra: Partial<HubConfig> = {},
  seedApi: SeedApi = () => undefined,
  opts: Omit<HubOptions, 'log'> = {},
) {
  const dir = await fsp.mkdtemp(join(tmpdir(), prefix));
  const pki = makeTestPki(dir);
  const api = new FakeApiServer(pki, (p) => readFileSync(p));
  await api.start();
  seedApi(api);
  const config: HubConfig = {
    nodeName: 'n1',
    servers: [api.url],
    strategy: 'round-robin',
    tls: { certFile: pki.clientCert, keyFile: pki.clientKey, caFile: pki.ca },
    proxyListen: `127.0.0.1:${await freePort()}`,
    adminListen: `127.0.0.1:${await freePort()}`,
    cacheDir: join(dir, 'cache'),
    journalDir: join(dir, 'journal'),
    cacheKeyFile: join(dir, 'pki', 'cache.key'),
    cacheAgents: [],
    heartbeatIntervalSeconds: 3600,
    kubeletSilenceSeconds: 3600,
    leaseDurationSeconds: 40,
    journalMaxEntries: 100,
    centralConfig: false,
    ...extra,
  };
  const log = new MemoryLogger();
  const hub = await Hub.start(config, { ...opts, log });
  return {
    dir,
    api,
    hub,
    config,
    log,
    stop: async () => {
      await hub.close();
      await api.stop().catch(() => undefined);
      await fsp.rm(dir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}
