import { spawn } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOrCreateCacheKey } from './cache-key.ts';
import { MemoryLogger } from './log.ts';
import { Storage } from './storage.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await fsp.rm(d, { recursive: true, force: true });
});

describe('kill -9 while writing the cache', () => {
  it('leaves a cache that loads: every file decrypts, no temp files stay after init', async () => {
    const dir = await fsp.mkdtemp(join(tmpdir(), 'hub-kill-'));
    dirs.push(dir);
    const root = join(dir, 'cache');
    const keyFile = join(dir, 'cache.key');
    const writer = join(import.meta.dirname, 'test-support', 'cache-writer.ts');
    for (let round = 0; round < 8; round++) {
      const child = spawn(process.execPath, [writer, root, keyFile], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      try {
        await new Promise<void>((resolve, reject) => {
          child.stdout.once('data', () => resolve());
          child.once('exit', (code) => reject(new Error(`writer exited early (${code})`)));
        });
        // Kill at a different point in the write loop each round.
        await new Promise((r) => setTimeout(r, 60 + round * 37));
      } finally {
        child.kill('SIGKILL');
        await new Promise((r) => child.once('exit', r));
      }
      const log = new MemoryLogger();
      const storage = new Storage({ root, key: await loadOrCreateCacheKey(keyFile), log });
      await storage.init();
      const objs = await storage.list('kubelet', { resource: 'pods', version: 'v1', group: '' });
      expect(storage.quarantined, JSON.stringify(log.lines)).toBe(0);
      expect(objs.length).toBeGreaterThan(0);
      const leftovers: string[] = [];
      const walk = async (d: string): Promise<void> => {
        for (const e of await fsp.readdir(d, { withFileTypes: true })) {
          if (e.isDirectory()) await walk(join(d, e.name));
          else if (e.name.startsWith('.tmp-')) leftovers.push(e.name);
        }
      };
      await walk(root);
      expect(leftovers).toEqual([]);
    }
  }, 60_000);
});
