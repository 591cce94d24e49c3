import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRequestInfo } from './request-info.ts';
import { scopeFromQuery } from './selectors.ts';
import type { StorageIo } from './storage.ts';
import { get, until } from './test-support/hub-client.ts';
import { startTestHub } from './test-support/test-hub.ts';

const KUBELET = 'kubelet/v1.36.3 (linux/amd64) kubernetes/abc';
const BIG = '/api/v1/namespaces/big/configmaps';
/** Bigger than the cache's 16 MiB write queue, so the disk must hold the stream back to cache it all. */
const ITEMS = 1200;
const PAD = 16 * 1024;
const QUEUE_BOUND = 16 * 1024 * 1024;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A disk where opening each cache file waits first (`before`), then maybe fails. */
function disk(before: (n: number) => Promise<void>): StorageIo {
  let n = 0;
  const open = (async (...a: Parameters<typeof fsp.open>) => {
    await before(++n);
    return fsp.open(...a);
  }) as typeof fsp.open;
  return { open, rename: fsp.rename, mkdir: fsp.mkdir };
}

function enospc(): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error('ENOSPC: no space left on device, open');
  err.code = 'ENOSPC';
  return err;
}

let stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.reverse()) await s();
  stops = [];
});

async function hubWith(io: StorageIo) {
  const t = await startTestHub(
    'hub-bp-',
    {},
    (api) => {
      api.bigList = { count: ITEMS, padBytes: PAD };
    },
    { storageIo: io },
  );
  stops.push(t.stop);
  return t;
}

async function cachedNames(t: Awaited<ReturnType<typeof hubWith>>): Promise<string[] | undefined> {
  const info = parseRequestInfo('GET', BIG);
  const list = await t.hub.cache.listObjects('kubelet', info, scopeFromQuery('big', new URLSearchParams()));
  return list?.items.map((o) => (o as { metadata: { name: string } }).metadata.name);
}

describe('hub: LIST cached at the pace of the disk', () => {
  it('a LIST bigger than the write queue on a slow disk is cached whole; the client gets every byte', async () => {
    const t = await hubWith(disk(() => sleep(15)));
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, t.hub.storage.queuedWriteBytes);
    }, 5);
    try {
      const r = await get(t.hub.proxyAddress, BIG, KUBELET);
      expect(r.status).toBe(200);
      expect(Buffer.from(r.body).equals(t.api.bigListBody())).toBe(true);
      expect(r.bytes).toBeGreaterThan(QUEUE_BOUND);
      await t.hub.cache.idle();
    } finally {
      clearInterval(sampler);
    }
    // The queue filled (the disk was the bottleneck) and stayed near its bound: memory did not follow the list.
    expect(peak).toBeGreaterThan(QUEUE_BOUND / 2);
    expect(peak).toBeLessThan(QUEUE_BOUND + 1024 * 1024);
    const names = await cachedNames(t);
    expect(names?.length).toBe(ITEMS);
    expect(t.hub.cache.responsesNotCached).toBe(0);
    expect(t.log.lines.some((l) => l.event === 'cache.list_not_cached')).toBe(false);
  }, 60_000);

  it('a disk that fills up mid-list: caching is given up, the client still gets the whole list promptly', async () => {
    // Slow at first (the proxy is held back by the queue), then full.
    const t = await hubWith(
      disk(async (n) => {
        await sleep(20);
        if (n > 40) throw enospc();
      }),
    );
    const started = Date.now();
    const r = await get(t.hub.proxyAddress, BIG, KUBELET);
    const took = Date.now() - started;
    expect(r.status).toBe(200);
    expect(Buffer.from(r.body).equals(t.api.bigListBody())).toBe(true);
    // Far below the 30 s stall watchdog: the failing disk released the stream, not a timeout.
    expect(took).toBeLessThan(10_000);
    await t.hub.cache.idle();
    expect(t.hub.storage.status).toMatchObject({ writable: false, reason: 'CacheDiskFull' });
    expect(t.hub.cache.responsesNotCached).toBe(1);
    const line = t.log.lines.find((l) => l.event === 'cache.list_not_cached');
    expect(line?.fields).toMatchObject({ resource: 'configmaps', component: 'kubelet' });
    expect(String(line?.fields?.error)).toContain('CacheDiskFull');
    // Not cached as a list: no list metadata was written, so offline it is a miss rather than a partial list.
    expect(await cachedNames(t)).toBeUndefined();
    const metrics = await get(t.hub.adminAddress, '/metrics', 'test');
    expect(metrics.body).toMatch(/^edgefleet_hub_cache_responses_not_cached_total 1$/m);
  }, 30_000);

  it('a client that disconnects while the disk holds the list back leaves no paused upstream request', async () => {
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      openGate = r;
    });
    // A disk that takes no write until the gate opens: the queue fills and the proxy pauses.
    const t = await hubWith(disk(() => gate));
    stops.push(async () => {
      openGate();
    });
    // Far more than the queue and every socket buffer on the way: the server is still writing when paused.
    t.api.bigList = { count: 4000, padBytes: PAD };
    const [host, port] = t.hub.proxyAddress.split(':');
    let received = 0;
    const req = http.request({ host, port, path: BIG, headers: { 'user-agent': KUBELET } }, (res) => {
      res.on('data', (c: Buffer) => {
        received += c.length;
      });
      res.on('error', () => undefined);
    });
    req.on('error', () => undefined);
    req.end();
    // Wait until the stream stands still (paused by the cache), well short of the whole list.
    let last = -1;
    await until(
      async () => {
        const still = received > 0 && received === last;
        last = received;
        if (!still) await sleep(300);
        return still;
      },
      15_000,
      'list paused',
    );
    const total = t.api.bigListBody().length;
    expect(received).toBeLessThan(total);
    // Held back, not buffered: what waits for the disk stays at the queue's bound.
    expect(t.hub.storage.queuedWriteBytes).toBeGreaterThan(QUEUE_BOUND / 2);
    expect(t.hub.storage.queuedWriteBytes).toBeLessThan(QUEUE_BOUND + 1024 * 1024);
    expect(t.api.listsCutShort).toBe(0);
    req.destroy();
    await until(() => t.api.listsCutShort === 1, 5000, 'upstream LIST closed');
    // The disk recovers: what was queued lands, but a list cut short is never recorded as complete.
    openGate();
    await until(() => t.hub.storage.queuedWriteBytes === 0, 15_000, 'queue drained');
    expect(await cachedNames(t)).toBeUndefined();
  }, 40_000);
});
