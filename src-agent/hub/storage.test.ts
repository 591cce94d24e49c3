import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadOrCreateCacheKey } from './cache-key.ts';
import { MemoryLogger } from './log.ts';
import { type ObjectKey, parseResourceDirName, resourceDirName, Storage } from './storage.ts';

const pods = { resource: 'pods', version: 'v1', group: '' };
const key = (name: string, namespace = 'default'): ObjectKey => ({
  component: 'kubelet',
  resource: pods,
  namespace,
  name,
});
const pod = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default' },
  spec: { nodeName: 'n1' },
});

let dir: string;
let log: MemoryLogger;
let storage: Storage;

beforeEach(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'hub-storage-'));
  log = new MemoryLogger();
  storage = new Storage({
    root: join(dir, 'cache'),
    key: await loadOrCreateCacheKey(join(dir, 'pki', 'cache.key')),
    log,
  });
  await storage.init();
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('cache key', () => {
  it('is created 0600 once and reused', async () => {
    const path = join(dir, 'pki', 'cache.key');
    expect((await fsp.stat(path)).mode & 0o777).toBe(0o600);
    const again = await loadOrCreateCacheKey(path);
    expect(again.equals(await fsp.readFile(path))).toBe(true);
  });
  it('refuses a key others can read', async () => {
    const path = join(dir, 'pki', 'cache.key');
    await fsp.chmod(path, 0o644);
    await expect(loadOrCreateCacheKey(path)).rejects.toThrow(/chmod 600/);
  });
});

describe('storage', () => {
  it('stores one object per file at the yurthub path, encrypted, 0600 in 0700 dirs', async () => {
    await storage.put(key('web-1'), pod('web-1'));
    const path = join(dir, 'cache', 'kubelet', 'pods.v1.core', 'default', 'web-1');
    expect(storage.objectPath(key('web-1'))).toBe(path);
    const raw = await fsp.readFile(path);
    expect(raw.includes(Buffer.from('web-1'))).toBe(false);
    expect((await fsp.stat(path)).mode & 0o777).toBe(0o600);
    expect((await fsp.stat(join(dir, 'cache', 'kubelet', 'pods.v1.core'))).mode & 0o777).toBe(0o700);
    expect(await storage.get(key('web-1'))).toEqual(pod('web-1'));
  });

  it('lists by namespace and cluster-wide, and deletes', async () => {
    await storage.put(key('a'), pod('a'));
    await storage.put(key('b', 'other'), pod('b'));
    expect((await storage.list('kubelet', pods)).length).toBe(2);
    expect(
      ((await storage.list('kubelet', pods, 'other'))[0] as { metadata: { name: string } }).metadata.name,
    ).toBe('b');
    await storage.delete(key('a'));
    expect(await storage.get(key('a'))).toBeUndefined();
  });

  it('a resource or version with a dot comes back as itself from the directory name (found by the bad-input soak)', async () => {
    const odd = { resource: 'a.b', version: 'v1.2', group: 'x.example.com' };
    expect(parseResourceDirName(resourceDirName(odd))).toEqual(odd);
    expect(resourceDirName(pods)).toBe('pods.v1.core');
    await storage.put({ component: 'kubelet', resource: odd, namespace: '', name: 'n' }, pod('n'));
    expect(await storage.resources('kubelet')).toEqual([odd]);
  });

  it('encodes names that could escape the cache dir', async () => {
    const k = key('../../etc/passwd');
    await storage.put(k, pod('x'));
    expect(storage.objectPath(k).startsWith(join(dir, 'cache', 'kubelet'))).toBe(true);
    expect(await storage.get(k)).toEqual(pod('x'));
  });

  it('quarantines a truncated file, counts and logs it, and keeps serving others', async () => {
    await storage.put(key('a'), pod('a'));
    await storage.put(key('b'), pod('b'));
    const path = storage.objectPath(key('a'));
    const raw = await fsp.readFile(path);
    await fsp.writeFile(path, raw.subarray(0, raw.length - 5));
    const listed = await storage.list('kubelet', pods);
    expect(listed).toEqual([pod('b')]);
    expect(storage.quarantined).toBe(1);
    expect(log.lines.some((l) => l.event === 'cache.quarantined')).toBe(true);
    await expect(fsp.stat(path)).rejects.toThrow();
    expect((await fsp.readdir(join(dir, 'cache', '.quarantine'))).length).toBe(1);
  });

  it('quarantines a file encrypted with another key or moved to another object path', async () => {
    await storage.put(key('a'), pod('a'));
    await fsp.copyFile(storage.objectPath(key('a')), join(dirnameOf(storage.objectPath(key('a'))), 'b'));
    expect(await storage.get(key('b'))).toBeUndefined();
    expect(storage.quarantined).toBe(1);
    const other = new Storage({ root: join(dir, 'cache'), key: Buffer.alloc(32, 7), log });
    expect(await other.get(key('a'))).toBeUndefined();
    expect(other.quarantined).toBe(1);
  });

  it('on EROFS/ENOSPC stops caching with a condition instead of failing', async () => {
    const failing = new Storage({
      root: join(dir, 'cache'),
      key: Buffer.alloc(32, 1),
      log,
      io: {
        open: fsp.open,
        mkdir: fsp.mkdir,
        rename: async () => {
          throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
        },
      },
    });
    expect(await failing.put(key('a'), pod('a'))).toBe(false);
    expect(failing.status.writable).toBe(false);
    expect(failing.status.reason).toBe('CacheDiskFull');
    expect(await failing.put(key('b'), pod('b'))).toBe(false);
    // No temp file left behind.
    expect((await fsp.readdir(join(dir, 'cache', 'kubelet', 'pods.v1.core', 'default'))).length).toBe(0);
  });

  it('sweeps temp files a crash left behind and serializes writes to one key', async () => {
    await storage.put(key('a'), pod('a'));
    const d = dirnameOf(storage.objectPath(key('a')));
    await fsp.writeFile(join(d, '.tmp-deadbeef'), 'partial');
    await storage.init();
    expect(await fsp.readdir(d)).toEqual(['a']);
    await Promise.all(Array.from({ length: 20 }, (_, i) => storage.put(key('a'), { ...pod('a'), seq: i })));
    expect(await storage.get(key('a'))).toMatchObject({ seq: 19 });
  });
});

function dirnameOf(p: string): string {
  return p.slice(0, p.lastIndexOf('/'));
}

describe('storage for big lists', () => {
  it('writes a stream of objects through a bounded queue and lists them back in name order', async () => {
    const q = storage.putQueue(4);
    const names = Array.from({ length: 300 }, (_, i) => `p-${(i * 7919) % 300}`);
    for (const n of names) q.add(key(n), pod(n));
    await q.done();
    const keys = await storage.listKeys('kubelet', pods);
    expect(keys.map((k) => k.name)).toEqual([...names].sort());
    const seen: string[] = [];
    await storage.scan(
      'kubelet',
      pods,
      '',
      (plain) => {
        seen.push((JSON.parse(plain.toString()) as { metadata: { name: string } }).metadata.name);
      },
      8,
    );
    expect(seen).toEqual([...names].sort());
  });

  it('skips and quarantines a corrupt file while scanning; names come from files without reading them', async () => {
    for (const n of ['a', 'b', 'c']) await storage.put(key(n), pod(n));
    await storage.put(key('x', 'other ns'), pod('x'));
    await fsp.writeFile(storage.objectPath(key('b')), 'garbage');
    expect((await storage.listKeys('kubelet', pods)).map((k) => `${k.namespace}/${k.name}`)).toEqual([
      'default/a',
      'default/b',
      'default/c',
      'other ns/x',
    ]);
    const listed = (await storage.list('kubelet', pods, 'default')) as { metadata: { name: string } }[];
    expect(listed.map((o) => o.metadata.name)).toEqual(['a', 'c']);
    expect(storage.quarantined).toBe(1);
  });
});
