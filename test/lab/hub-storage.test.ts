import { execFileSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { autonomyCondition } from '../../src-agent/hub/autonomy-condition.ts';
import { CacheManager } from '../../src-agent/hub/cache-manager.ts';
import { MemoryLogger } from '../../src-agent/hub/log.ts';
import { parseRequestInfo } from '../../src-agent/hub/request-info.ts';
import { type ObjectKey, Storage } from '../../src-agent/hub/storage.ts';
import { feedLikeProxy } from '../../src-agent/hub/test-support/feed-sink.ts';
import { openWatch, send, until } from '../../src-agent/hub/test-support/hub-client.ts';
import { startTestHub } from '../../src-agent/hub/test-support/test-hub.ts';

const KUBELET = 'kubelet/v1.36.3 (linux/amd64) kubernetes/abc';

/** Writes `path` in 64 KiB pieces until the filesystem says ENOSPC. */
async function fillDisk(path: string): Promise<void> {
  const fh = await fsp.open(path, 'w');
  try {
    for (let i = 0; i < 10_000; i++) await fh.write(Buffer.alloc(64 * 1024, 1));
    throw new Error(`${path}: the disk never filled`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    await fh.close();
  }
}

// Real disk faults need mounts (root): a read-only bind mount and a tiny tmpfs that fills up.
const pods = { resource: 'pods', version: 'v1', group: '' };
const key = (name: string): ObjectKey => ({
  component: 'kubelet',
  resource: pods,
  namespace: 'default',
  name,
});
let dir = '';
const mounts: string[] = [];

beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'edgefleet-hub-disk-'));
});

afterAll(async () => {
  for (const m of mounts.reverse()) {
    try {
      execFileSync('umount', [m]);
    } catch {
      execFileSync('umount', ['-l', m]);
    }
  }
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('hub cache on a failing disk', () => {
  it('a read-only cache dir stops caching with a condition; reads of what is there still work', async () => {
    const root = join(dir, 'ro');
    const log = new MemoryLogger();
    const s = new Storage({ root, key: Buffer.alloc(32, 3), log });
    await s.init();
    expect(await s.put(key('a'), { metadata: { name: 'a' } })).toBe(true);
    execFileSync('mount', ['--bind', root, root]);
    mounts.push(root);
    execFileSync('mount', ['-o', 'remount,bind,ro', root]);
    expect(await s.put(key('b'), { metadata: { name: 'b' } })).toBe(false);
    expect(s.status).toMatchObject({ writable: false, reason: 'CacheReadOnly' });
    expect(await s.get(key('a'))).toEqual({ metadata: { name: 'a' } });
    expect(log.lines.some((l) => l.event === 'cache.disabled')).toBe(true);
  });

  it('a full disk (ENOSPC) stops caching with a condition, leaves no partial files', async () => {
    const root = join(dir, 'full');
    await fsp.mkdir(root);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', root]);
    mounts.push(root);
    const s = new Storage({ root: join(root, 'cache'), key: Buffer.alloc(32, 4), log: new MemoryLogger() });
    await s.init();
    const big = { metadata: { name: 'x' }, data: 'y'.repeat(8 * 1024) };
    let stored = 0;
    for (let i = 0; i < 40 && s.status.writable; i++) if (await s.put(key(`p${i}`), big)) stored++;
    expect(s.status).toMatchObject({ writable: false, reason: 'CacheDiskFull' });
    expect(stored).toBeGreaterThan(0);
    const files = await fsp.readdir(join(root, 'cache', 'kubelet', 'pods.v1.core', 'default'));
    expect(files.filter((f) => f.startsWith('.tmp-'))).toEqual([]);
    expect((await s.list('kubelet', pods)).length).toBe(stored);
  });

  it('a LIST held back by the cache is let go at full speed when the disk fills mid-list, and not cached', async () => {
    const root = join(dir, 'full-list');
    await fsp.mkdir(root);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', root]);
    mounts.push(root);
    const log = new MemoryLogger();
    const s = new Storage({ root: join(root, 'cache'), key: Buffer.alloc(32, 5), log });
    await s.init();
    const cache = new CacheManager(s, [], log);
    const info = parseRequestInfo('GET', '/api/v1/namespaces/default/pods');
    // 20 MiB of pods: more than the write queue (so the producer is asked to wait) and than the disk.
    const items = Array.from({ length: 1250 }, (_, i) => ({
      metadata: { name: `p${i}`, namespace: 'default', resourceVersion: String(10 + i) },
      pad: 'z'.repeat(16 * 1024),
    }));
    const body = Buffer.from(
      JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '9' }, items }),
    );
    const sink = cache.sinkFor('kubelet', info, 200, 'application/json');
    if (!sink) throw new Error('expected a cache sink for a LIST');
    const started = Date.now();
    // The producer waits as the proxy does; a full disk must release it long before the stall watchdog.
    const waits = await feedLikeProxy(sink, body);
    await sink.end();
    expect(waits).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(s.status).toMatchObject({ writable: false, reason: 'CacheDiskFull' });
    expect(cache.responsesNotCached).toBe(1);
    const line = log.lines.find((l) => l.event === 'cache.list_not_cached');
    expect(String(line?.fields?.error)).toContain('CacheDiskFull');
    expect(await s.getMeta('kubelet', pods)).toBeUndefined();
    const files = await fsp.readdir(join(root, 'cache', 'kubelet', 'pods.v1.core', 'default'));
    expect(files.filter((f) => f.startsWith('.tmp-'))).toEqual([]);
  });

  it('with the cache disk full the Autonomy condition is False and names it; when space returns the hub re-lists before trusting the cache', async () => {
    const root = join(dir, 'full-hub');
    await fsp.mkdir(root);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', root]);
    mounts.push(root);
    const t = await startTestHub(
      'hub-disk-full-',
      { cacheDir: join(root, 'cache') },
      (api) => {
        api.addPod('web-1', { app: 'web' });
        api.addPod('web-2', { app: 'web' });
      },
      { diskRecheckMs: 200 },
    );
    const watch = openWatch(t.hub.proxyAddress, '/api/v1/namespaces/default/pods?watch=true', KUBELET);
    try {
      const hub = t.hub;
      const annotations = { 'node.openyurt.io/autonomy-duration': '0' };
      const condition = () =>
        autonomyCondition({ annotations, cache: hub.storage.status, certificatesLoaded: true });
      const list = await send(hub.proxyAddress, 'GET', '/api/v1/namespaces/default/pods', { ua: KUBELET });
      expect(JSON.parse(list.body.toString()).items).toHaveLength(2);
      await hub.cache.idle(5_000);
      expect(condition().status).toBe('True');
      await fillDisk(join(root, 'filler'));
      // What changes while the disk is full reaches kubelet's watch, not the cache.
      t.api.modifyPod('web-1', { status: { phase: 'Failed' } });
      t.api.addPod('web-3', { app: 'web' });
      await until(() => watch.lines.length >= 2, 5_000, 'both events on the watch');
      await until(() => hub.storage.status.reason === 'CacheDiskFull', 5_000, 'caching stopped');
      expect(condition()).toMatchObject({ status: 'False', reason: 'CacheDiskFull' });
      expect(condition().message).toContain('Free space');
      expect(t.log.lines.some((l) => l.event === 'cache.disabled')).toBe(true);
      // Space returns: the hub notices by itself, re-lists what kubelet read, and only then trusts the cache.
      await fsp.rm(join(root, 'filler'));
      await until(() => hub.storage.status.reason === 'Ready', 10_000, 'the cache trusted again');
      const events = t.log.lines.map((l) => l.event);
      expect(events.indexOf('cache.writable_again')).toBeGreaterThan(-1);
      expect(events.indexOf('cache.resync')).toBeGreaterThan(events.indexOf('cache.writable_again'));
      expect(t.log.lines.find((l) => l.event === 'cache.resync')?.fields).toMatchObject({ failed: 0 });
      expect(condition().status).toBe('True');
      // Offline now, the cache answers with what changed while the disk was full.
      await t.api.stop();
      await hub.probeNow();
      expect(hub.isCloudHealthy()).toBe(false);
      const offline = await send(hub.proxyAddress, 'GET', '/api/v1/namespaces/default/pods', { ua: KUBELET });
      const pods = JSON.parse(offline.body.toString()).items as {
        metadata: { name: string };
        status: { phase: string };
      }[];
      expect(pods.map((p) => p.metadata.name).sort()).toEqual(['web-1', 'web-2', 'web-3']);
      expect(pods.find((p) => p.metadata.name === 'web-1')?.status.phase).toBe('Failed');
    } finally {
      watch.close();
      await t.stop();
    }
  }, 60_000);
});
