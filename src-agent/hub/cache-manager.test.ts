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
import { feedLikeProxy } from './test-support/feed-sink.ts';

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

describe('cache manager: a LIST stored whole for offline', () => {
  const stored = async () => {
    const s = await cache.storedList('edgefleet', listInfo);
    return s && { rv: s.meta.resourceVersion, items: JSON.parse(`[${s.items.toString()}]`) };
  };
  const names = (items: { metadata: { name: string } }[]) => items.map((o) => o.metadata.name);

  it('keeps the items as the client got them, in the API server order, until an object changes', async () => {
    await tee(listBody('10', ['a', 'b', 'c']));
    const first = await stored();
    expect(first?.rv).toBe('10');
    expect(names(first?.items ?? [])).toEqual(['a', 'b', 'c']);
    // Unchanged re-list: still true, and the list rv moves with the metadata.
    const again = JSON.parse(listBody('10', ['a', 'b', 'c']).toString());
    again.metadata.resourceVersion = '11';
    await tee(Buffer.from(JSON.stringify(again)));
    expect((await stored())?.rv).toBe('11');
    // A watch event changes one object: the stored list no longer tells the truth.
    const watchInfo = parseRequestInfo('GET', '/api/v1/namespaces/ns/configmaps?watch=true');
    const sink = cache.sinkFor('edgefleet', watchInfo, 200, 'application/json');
    const ev = {
      type: 'MODIFIED',
      object: { metadata: { name: 'b', namespace: 'ns', resourceVersion: '12' } },
    };
    sink?.write(Buffer.from(`${JSON.stringify(ev)}\n`));
    await sink?.end();
    expect(await stored()).toBeUndefined();
    // The object-by-object scan still answers, with the change.
    expect((await served()).names).toEqual(['a', 'b', 'c']);
    // The next complete LIST stores it again.
    await tee(listBody('13', ['a', 'c']));
    expect(names((await stored())?.items ?? [])).toEqual(['a', 'c']);
  });

  it('a stored list is found again after a restart, and a change after the restart removes it', async () => {
    await tee(listBody('10', ['a', 'b']));
    const log = new MemoryLogger();
    const key = await loadOrCreateCacheKey(join(dir, 'key'));
    const restarted = new Storage({ root: join(dir, 'cache'), key, log });
    await restarted.init();
    const cache2 = new CacheManager(restarted, [], log);
    expect((await cache2.storedList('edgefleet', listInfo))?.meta.resourceVersion).toBe('10');
    await restarted.delete({ component: 'edgefleet', resource: cms, namespace: 'ns', name: 'a' });
    expect(await cache2.storedList('edgefleet', listInfo)).toBeUndefined();
  });

  it('a LIST with selectors is stored for its own scope only, and a page of a list not at all', async () => {
    const sel = parseRequestInfo('GET', '/api/v1/namespaces/ns/configmaps?labelSelector=app%3Dx');
    const sink = cache.sinkFor('edgefleet', sel, 200, 'application/json');
    sink?.write(listBody('10', ['a']));
    await sink?.end();
    expect(await stored()).toBeUndefined();
    expect(names(JSON.parse(`[${(await cache.storedList('edgefleet', sel))?.items}]`))).toEqual(['a']);
    const paged = parseRequestInfo('GET', '/api/v1/namespaces/ns/configmaps?limit=1&continue=abc');
    expect(await cache.storedList('edgefleet', paged)).toBeUndefined();
  });
});

/** A 17 MiB LIST: more than the cache's 16 MiB write queue. */
const bigList = () =>
  listBody(
    '20',
    Array.from({ length: 1100 }, (_, i) => `cm-${i}`),
    'x'.repeat(16 * 1024),
  );

/**
 * A cache whose disk takes no write until `open()` is called (a hung card), then takes each write
 * after `delayMs` (a slow one).
 */
async function gatedCache(opts: { listStallMs?: number; listHoldBudgetMs?: number } = {}, delayMs = 0) {
  let open: () => void = () => undefined;
  const gate = new Promise<void>((r) => {
    open = r;
  });
  const log = new MemoryLogger();
  const io = {
    open: (async (...a: Parameters<typeof fsp.open>) => {
      await gate;
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      return fsp.open(...a);
    }) as typeof fsp.open,
    rename: fsp.rename,
    mkdir: fsp.mkdir,
  };
  const s = new Storage({
    root: join(dir, 'gated'),
    key: await loadOrCreateCacheKey(join(dir, 'key')),
    log,
    io,
  });
  await s.init();
  return { storage: s, cache: new CacheManager(s, [], log, opts), log, open };
}

describe('cache manager: backpressure', () => {
  it('asks the producer to wait while the disk is behind, and lets go of a disk that makes no progress', async () => {
    const g = await gatedCache({ listStallMs: 300 });
    const body = bigList();
    const sink = g.cache.sinkFor('edgefleet', listInfo, 200, 'application/json');
    if (!sink) throw new Error('expected a cache sink for a LIST');
    let offset = 0;
    let accepted = true;
    while (accepted && offset < body.length) {
      accepted = sink.write(body.subarray(offset, offset + 64 * 1024));
      offset += 64 * 1024;
    }
    // The queue filled before the body ended: the producer must pause here.
    expect(accepted).toBe(false);
    expect(offset).toBeLessThan(body.length);
    const started = Date.now();
    await new Promise<void>((r) => sink.onDrain(r));
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    const line = g.log.lines.find((l) => l.event === 'cache.list_not_cached');
    expect(String(line?.fields?.error)).toContain('stalled');
    expect(g.cache.responsesNotCached).toBe(1);
    // Given up: the rest streams through without waiting, and the list is never recorded as complete.
    for (; offset < body.length; offset += 64 * 1024)
      expect(sink.write(body.subarray(offset, offset + 64 * 1024))).toBe(true);
    g.open();
    await sink.end();
    expect(await g.storage.getMeta('edgefleet', cms)).toBeUndefined();
  }, 20_000);

  it('a wait for writes in flight (hub stop) is bounded on a hung disk, and completes once the disk moves', async () => {
    const g = await gatedCache();
    const sink = g.cache.sinkFor('edgefleet', listInfo, 200, 'application/json');
    if (!sink) throw new Error('expected a cache sink for a LIST');
    sink.write(listBody('7', ['a', 'b'], 'x'));
    const landed = sink.end();
    const started = Date.now();
    expect(await g.cache.idle(300)).toBe(false);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(g.cache.pendingWrites).toBe(1);
    g.open();
    expect(await g.cache.idle(5000)).toBe(true);
    await landed;
    expect((await g.storage.listKeys('edgefleet', cms)).map((k) => k.name).sort()).toEqual(['a', 'b']);
  });

  it('lets go of a list held back longer than the API server would wait, though the disk progresses', async () => {
    const g = await gatedCache({ listHoldBudgetMs: 400 }, 40);
    g.open();
    const body = bigList();
    const sink = g.cache.sinkFor('edgefleet', listInfo, 200, 'application/json');
    if (!sink) throw new Error('expected a cache sink for a LIST');
    const started = Date.now();
    const waits = await feedLikeProxy(sink, body);
    // Held back at least once and let go by the budget: draining half the queue takes over a second here.
    expect(waits).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(5000);
    const line = g.log.lines.find((l) => l.event === 'cache.list_not_cached');
    expect(String(line?.fields?.error)).toContain('held back');
    await sink.end();
    expect(await g.storage.getMeta('edgefleet', cms)).toBeUndefined();
    // What was queued before letting go still landed: the next LIST only writes the rest.
    expect((await g.storage.listKeys('edgefleet', cms)).length).toBeGreaterThan(0);
  }, 20_000);

  it('never holds a watch back; a backlog past its bound stops caching that watch at a consistent point', async () => {
    const g = await gatedCache();
    const watchInfo = parseRequestInfo('GET', '/api/v1/namespaces/ns/configmaps?watch=true');
    const sink = g.cache.sinkFor('edgefleet', watchInfo, 200, 'application/json');
    if (!sink) throw new Error('expected a cache sink for a WATCH');
    const event = (i: number) =>
      Buffer.from(
        `${JSON.stringify({
          type: 'ADDED',
          object: {
            kind: 'ConfigMap',
            apiVersion: 'v1',
            metadata: { name: `w-${i}`, namespace: 'ns', resourceVersion: String(100 + i) },
            data: { pad: 'y'.repeat(64 * 1024) },
          },
        })}\n`,
      );
    // 100 events of 64 KiB while the disk takes nothing: more than the 4 MiB the sink keeps waiting.
    expect(sink.write(event(0))).toBe(true);
    // Let the first event reach the (stuck) disk before the flood.
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 1; i < 100; i++) expect(sink.write(event(i))).toBe(true);
    expect(g.log.lines.some((l) => l.event === 'cache.watch_not_cached')).toBe(true);
    expect(g.cache.responsesNotCached).toBe(1);
    g.open();
    await sink.end();
    // Only the event already being written landed; the resourceVersion matches what is on disk.
    const names = (await g.storage.listKeys('edgefleet', cms)).map((k) => k.name);
    expect(names).toEqual(['w-0']);
    expect(await g.storage.getMeta('edgefleet', cms)).toMatchObject({ resourceVersion: '100' });
  });
});
