/**
 * Child process for the kill -9 test: writes cache objects through Storage as fast as it can until it
 * is killed. argv: <cacheDir> <keyFile>
 */
import { loadOrCreateCacheKey } from '../cache-key.ts';
import { MemoryLogger } from '../log.ts';
import { Storage } from '../storage.ts';

const [root = '', keyFile = ''] = process.argv.slice(2);
const storage = new Storage({ root, key: await loadOrCreateCacheKey(keyFile), log: new MemoryLogger() });
await storage.init();
const r = { resource: 'pods', version: 'v1', group: '' };
process.stdout.write('ready\n');
for (let round = 0; ; round++) {
  const batch = Array.from({ length: 50 }, (_, i) => ({
    key: { component: 'kubelet', resource: r, namespace: 'default', name: `pod-${i}` },
    obj: {
      kind: 'Pod',
      metadata: { name: `pod-${i}`, namespace: 'default' },
      round,
      pad: 'x'.repeat(2000 + (round % 7) * 300),
    },
  }));
  await storage.putMany(batch);
  await storage.put(
    { component: 'kubelet', resource: r, namespace: 'default', name: `single-${round % 5}` },
    { round },
  );
}
