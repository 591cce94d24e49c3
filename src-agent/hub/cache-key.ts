import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The cache key file is missing, unreadable, the wrong size or readable by others. */
export class CacheKeyError extends Error {
  constructor(path: string, problem: string, hint: string) {
    super(`cache key ${path}: ${problem} (${hint})`);
    this.name = 'CacheKeyError';
  }
}

const KEY_BYTES = 32;

/**
 * Loads the AES-256 key that encrypts the cache at rest, creating it (0600, in a 0700 directory)
 * the first time. A key readable by group/other is refused: anyone who can read it can read
 * every cached Secret.
 */
export async function loadOrCreateCacheKey(path: string): Promise<Buffer> {
  try {
    const st = await stat(path);
    if ((st.mode & 0o077) !== 0) {
      throw new CacheKeyError(
        path,
        `mode ${(st.mode & 0o777).toString(8)} lets others read it`,
        `run chmod 600 ${path}`,
      );
    }
    const key = await readFile(path);
    if (key.length !== KEY_BYTES) {
      throw new CacheKeyError(
        path,
        `is ${key.length} bytes, expected ${KEY_BYTES}`,
        'delete it and the cache dir; the hub makes a new one',
      );
    }
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const key = randomBytes(KEY_BYTES);
  // 'wx' so two hubs starting at once cannot each write a different key.
  const fh = await open(path, 'wx', 0o600).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code === 'EEXIST') return undefined;
    throw new CacheKeyError(
      path,
      `cannot create (${err.code})`,
      'check the directory exists and is writable by root',
    );
  });
  if (!fh) return loadOrCreateCacheKey(path);
  try {
    await fh.writeFile(key);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await chmod(path, 0o600);
  return key;
}
