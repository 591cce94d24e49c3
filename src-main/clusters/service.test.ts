import { afterEach, describe, expect, it } from 'vitest';
import { testKubeConfig } from '../../test/unit/kubeconfig.ts';
import { ClustersService } from './service.ts';
import type { ClusterSources } from './sources.ts';

const sources = {
  kubeConfigFor: async () => testKubeConfig('http://127.0.0.1:1'),
} as unknown as ClusterSources;
let service: ClustersService | undefined;
afterEach(async () => {
  await service?.stopAll();
});

async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(ok()).toBe(true);
}

describe('ClustersService', () => {
  it('keeps an unwatched cluster for a grace period, so switching back is free, then stops its watches', async () => {
    service = new ClustersService(
      sources,
      () => {},
      { batchMs: 5 },
      { unwatchGraceMs: 150, threads: 'inline' },
    );
    const first = await service.watch('default/a');
    await service.watch('default/b');
    await service.unwatch('default/a');
    // Back within the grace: the same live state (its seq goes on), not a fresh one.
    expect(service.watching().sort()).toEqual(['default/a', 'default/b']);
    const again = await service.watch('default/a');
    expect(again.clusterId).toBe(first.clusterId);
    expect(service.liveCluster('default/a')).toBeDefined();
    // Unwatched for good: gone once the grace has passed. a's own grace (started earlier) has
    // run out by then too, so a still being there shows the re-watch cancelled its stop.
    await service.unwatch('default/b');
    await until(() => !service?.watching().includes('default/b'));
    expect(service.watching()).toEqual(['default/a']);
  });
});

describe('ClustersService source changes', () => {
  it('tells the credential caches when a source is imported again, removed or its clusters stopped', async () => {
    const changed: string[] = [];
    const fakeSources = {
      kubeConfigFor: async () => testKubeConfig('http://127.0.0.1:1'),
      importFile: async () => ({
        id: 'imported-1',
        kind: 'imported',
        path: '/x',
        readOnly: false,
        contexts: [],
      }),
      remove: async () => {},
    } as unknown as ClusterSources;
    service = new ClustersService(
      fakeSources,
      () => {},
      {},
      { threads: 'inline', onSourceChanged: (s) => changed.push(s) },
    );
    await service.importFile('/x');
    await service.watch('demo/edgefleet-demo');
    await service.stopSource('demo');
    await service.removeSource('imported-1');
    expect(changed).toEqual(['imported-1', 'demo', 'imported-1']);
    expect(service.watching()).toEqual([]);
  });
});
