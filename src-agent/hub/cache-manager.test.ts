import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadOrCreateCacheKey } from './cache-key.ts';
import { CacheManager } from './cache-manager.ts';
import { MemoryLogger } from './log.ts';
import { parseRequestInfo } from './request-info.ts';
import { scopeFromQuery } from './selectors.ts';
import { Storage } from './storage.ts';

const cms = { resource: 'configmaps', version: 'v1', group: '' };
const listBody = (rv: string, names: string[], value = 'v') =>
  Buffer.from(
    JSON.stringify({
      kind: 'ConfigMapList',
      apiVersion: 'v1',
      metadata: { resourceVersion: rv },
      items: names.map((n) => ({
        metadata: { name: n, namespace: 'ns', resourceVersion: `${rv}-${n}` },
        data: { k: `${value}-${n}` },
      })),
    }),
  );

let dir: string;
let storage: Storage;
let cache: CacheManager;
const listInfo = parseRequestInfo('GET', '/api/v1/namespaces/ns/configmaps');

beforeEach(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'hub-cache-'));
  const log = new MemoryLogger();
  storage = new Storage({ root: join(dir, 'cache'), key: await loadOrCreateCacheKey(join(dir, 'key')), log });
  await storage.init();
  cache = new CacheManager(storage, [], log);
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

/** Feeds a LIST response to the cache in small pieces, as it arrives from the network. */
async function tee(body: Buffer, step = 7): Promise<void> {
  const sink = cache.sinkFor('edgefleet', listInfo, 200, 'application/json');
  if (!sink) throw new Error('expected a cache sink for a LIST');
  for (let i = 0; i < body.length; i += step) sink.write(body.subarray(i, i + step));
  await sink.end();
}

async function served(): Promise<{ kind: string; rv: string; names: string[] }> {
  const list = await cache.listObjects('edgefleet', listInfo, scopeFromQuery('ns', new URLSearchParams()));
  if (!list) throw new Error('list not cached');
  return {
    kind: list.kind,
    rv: list.metadata.resourceVersion,
    names: list.items.map((o) => (o as { metadata: { name: string } }).metadata.name),
  };
}

describe('cache manager: LIST tee', () => {
  it('stores a streamed LIST item by item with kind/apiVersion and serves it back in order', async () => {
    await tee(listBody('10', ['b', 'a', 'c']));
    expect(await served()).toEqual({ kind: 'ConfigMapList', rv: '10', names: ['a', 'b', 'c'] });
    const one = (await storage.get({
      component: 'edgefleet',
      resource: cms,
      namespace: 'ns',
      name: 'a',
    })) as {
      kind: string;
      apiVersion: string;
      data: { k: string };
    };
    expect(one).toMatchObject({ kind: 'ConfigMap', apiVersion: 'v1', data: { k: 'v-a' } });
  });

  it('a complete re-list drops objects gone from the cloud and rewrites only what changed', async () => {
    await tee(listBody('10', ['a', 'b', 'c']));
    const pathA = storage.objectPath({ component: 'edgefleet', resource: cms, namespace: 'ns', name: 'a' });
    const before = (await fsp.stat(pathA)).ino;
    // Same resourceVersions for a and b: nothing to write; c is gone.
    const again = JSON.parse(listBody('10', ['a', 'b']).toString());
    again.metadata.resourceVersion = '11';
    await tee(Buffer.from(JSON.stringify(again)), 3);
    expect(await served()).toEqual({ kind: 'ConfigMapList', rv: '11', names: ['a', 'b'] });
    // Every write is temp file + rename: an unchanged object keeps its inode.
    expect((await fsp.stat(pathA)).ino).toBe(before);
  });

  it('a truncated LIST keeps what arrived but neither deletes nor moves the list resourceVersion', async () => {
    await tee(listBody('10', ['a', 'b', 'c']));
    const full = listBody('12', ['a', 'd', 'e'], 'new');
    await tee(full.subarray(0, full.indexOf('"e"')));
    const r = await served();
    expect(r.rv).toBe('10');
    expect(r.names).toEqual(['a', 'b', 'c', 'd']);
  });
});
