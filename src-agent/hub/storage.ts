import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Logger } from './log.ts';

/** Where one object of one component lives: `<component>/<resource>.<version>.<group>/<namespace>/<name>`. */
export interface ObjectKey {
  component: string;
  resource: ResourceKey;
  /** Empty for cluster-scoped objects. */
  namespace: string;
  name: string;
}

export interface ResourceKey {
  resource: string;
  version: string;
  /** Empty for the core group (stored as "core", as yurthub does). */
  group: string;
}

/** Why caching stopped, reported as a condition and a metric; proxying goes on. */
export interface StorageCondition {
  writable: boolean;
  reason: string;
  message: string;
}

/** The file operations storage writes through, so tests can make the disk fail. */
export interface StorageIo {
  open: typeof fsp.open;
  rename: typeof fsp.rename;
  mkdir: typeof fsp.mkdir;
}

export interface StorageOptions {
  root: string;
  key: Buffer;
  log: Logger;
  io?: StorageIo;
}

const MAGIC = Buffer.from('EFH1');
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER = MAGIC.length + IV_BYTES + TAG_BYTES;
/** Errors that mean the disk cannot take writes at all: stop caching rather than fail each request. */
const DISK_UNUSABLE = new Set(['ENOSPC', 'EROFS', 'EDQUOT']);
/** Per-resource metadata (list kind, resourceVersion); object names never start with '.'. */
const META_FILE = '.meta';
const QUARANTINE_DIR = '.quarantine';

/** Object and namespace names become path segments; anything that could escape or hide is encoded. */
function segment(name: string): string {
  if (name === '') throw new Error('empty path segment');
  const safe = /^[A-Za-z0-9_:-][A-Za-z0-9._:-]*$/.test(name)
    ? name
    : encodeURIComponent(name).replace(/^\./, '%2E');
  return safe === '..' ? '%2E%2E' : safe;
}

export function resourceDirName(r: ResourceKey): string {
  return `${segment(r.resource)}.${segment(r.version)}.${r.group === '' ? 'core' : segment(r.group)}`;
}

/**
 * The on-disk cache: one encrypted object per file, each write atomic (temp file, fsync, rename,
 * directory fsync) so a kill -9 at any moment leaves either the old or the new object. A file that
 * does not decrypt or parse is moved to `.quarantine`, counted and logged — never fatal.
 */
export class Storage {
  readonly root: string;
  private readonly key: Buffer;
  private readonly log: Logger;
  private readonly io: StorageIo;
  private readonly chains = new Map<string, Promise<void>>();
  private condition: StorageCondition = { writable: true, reason: 'Ready', message: 'cache is writable' };
  quarantined = 0;
  writeErrors = 0;

  constructor(opts: StorageOptions) {
    this.root = opts.root;
    this.key = opts.key;
    this.log = opts.log;
    this.io = opts.io ?? { open: fsp.open, rename: fsp.rename, mkdir: fsp.mkdir };
  }

  /** Creates the root (0700) and checks it can be written; a read-only/full disk only disables caching. */
  async init(): Promise<void> {
    await fsp.mkdir(this.root, { recursive: true, mode: 0o700 });
    await fsp.chmod(this.root, 0o700).catch(() => undefined);
    await this.sweepTempFiles(this.root);
  }

  get status(): StorageCondition {
    return this.condition;
  }

  /** Lets caching resume after the operator freed space; the next write re-checks. */
  resetCondition(): void {
    this.condition = { writable: true, reason: 'Ready', message: 'cache is writable' };
  }

  objectPath(k: ObjectKey): string {
    const parts = [this.root, segment(k.component), resourceDirName(k.resource)];
    if (k.namespace !== '') parts.push(segment(k.namespace));
    parts.push(segment(k.name));
    return join(...parts);
  }

  resourceDir(component: string, r: ResourceKey): string {
    return join(this.root, segment(component), resourceDirName(r));
  }

  async put(k: ObjectKey, obj: unknown): Promise<boolean> {
    return this.writeFile(this.objectPath(k), Buffer.from(JSON.stringify(obj)));
  }

  /**
   * Many objects at once (a LIST): files are written and fsynced in parallel — the filesystem merges
   * the flushes — and each directory is fsynced once at the end instead of once per object.
   */
  async putMany(items: readonly { key: ObjectKey; obj: unknown }[], parallel = 16): Promise<void> {
    const dirs = new Set<string>();
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < items.length; i = next++) {
        const it = items[i];
        if (!it) continue;
        const path = this.objectPath(it.key);
        if (await this.writeFile(path, Buffer.from(JSON.stringify(it.obj)), false)) dirs.add(dirname(path));
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker));
    await Promise.all([...dirs].map((d) => syncDir(d).catch(() => undefined)));
  }

  async get(k: ObjectKey): Promise<unknown | undefined> {
    return this.readFile(this.objectPath(k));
  }

  async delete(k: ObjectKey): Promise<void> {
    const path = this.objectPath(k);
    await this.serialize(path, async () => {
      await fsp.rm(path, { force: true });
    });
  }

  async putMeta(component: string, r: ResourceKey, meta: unknown): Promise<boolean> {
    return this.writeFile(join(this.resourceDir(component, r), META_FILE), Buffer.from(JSON.stringify(meta)));
  }

  async getMeta(component: string, r: ResourceKey): Promise<unknown | undefined> {
    return this.readFile(join(this.resourceDir(component, r), META_FILE));
  }

  /** Whether this component has ever cached this resource (a LIST or WATCH filled it). */
  async hasResource(component: string, r: ResourceKey): Promise<boolean> {
    return (await this.getMeta(component, r)) !== undefined;
  }

  /** All objects of one resource for a component, optionally one namespace only. */
  async list(component: string, r: ResourceKey, namespace = ''): Promise<unknown[]> {
    const dir = this.resourceDir(component, r);
    const files: string[] = [];
    const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      if (e.isDirectory()) {
        if (namespace !== '' && e.name !== segment(namespace)) continue;
        const inner = await fsp.readdir(join(dir, e.name), { withFileTypes: true }).catch(() => []);
        for (const f of inner)
          if (f.isFile() && !f.name.startsWith('.')) files.push(join(dir, e.name, f.name));
      } else if (e.isFile() && namespace === '') {
        files.push(join(dir, e.name));
      }
    }
    const out: unknown[] = [];
    for (const f of files) {
      const obj = await this.readFile(f);
      if (obj !== undefined) out.push(obj);
    }
    return out;
  }

  /** Component directories in the cache (their on-disk names). */
  async components(): Promise<string[]> {
    const entries = await fsp.readdir(this.root, { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
  }

  /** Resources one component has cached, parsed back from `<resource>.<version>.<group>` names. */
  async resources(component: string): Promise<ResourceKey[]> {
    const entries = await fsp
      .readdir(join(this.root, segment(component)), { withFileTypes: true })
      .catch(() => []);
    const out: ResourceKey[] = [];
    for (const e of entries) {
      const m = /^([^.]+)\.([^.]+)\.(.+)$/.exec(e.name);
      if (!e.isDirectory() || !m?.[1] || !m[2] || !m[3]) continue;
      out.push({
        resource: decodeURIComponent(m[1]),
        version: decodeURIComponent(m[2]),
        group: m[3] === 'core' ? '' : decodeURIComponent(m[3]),
      });
    }
    return out;
  }

  /** Bytes of cache files on disk, for the cache-size metric. */
  async bytes(): Promise<number> {
    let total = 0;
    const walk = async (dir: string): Promise<void> => {
      const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isFile()) total += (await fsp.stat(p).catch(() => ({ size: 0 }))).size;
      }
    };
    await walk(this.root);
    return total;
  }

  async diskFreeBytes(): Promise<number> {
    const s = await fsp.statfs(this.root);
    return s.bavail * s.bsize;
  }

  private seal(rel: string, plain: Buffer): Buffer {
    const iv = randomBytes(IV_BYTES);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    // The path is authenticated too, so a file copied to another object's place fails to decrypt.
    c.setAAD(Buffer.from(rel));
    const body = Buffer.concat([c.update(plain), c.final()]);
    return Buffer.concat([MAGIC, iv, c.getAuthTag(), body]);
  }

  private open(rel: string, data: Buffer): Buffer {
    if (data.length < HEADER || !data.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw new Error(`not a cache file (${data.length} bytes, bad header)`);
    }
    const iv = data.subarray(MAGIC.length, MAGIC.length + IV_BYTES);
    const tag = data.subarray(MAGIC.length + IV_BYTES, HEADER);
    const d = createDecipheriv('aes-256-gcm', this.key, iv);
    d.setAAD(Buffer.from(rel));
    d.setAuthTag(tag);
    return Buffer.concat([d.update(data.subarray(HEADER)), d.final()]);
  }

  private rel(path: string): string {
    return relative(this.root, path).split(sep).join('/');
  }

  private serialize<T>(path: string, job: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(path) ?? Promise.resolve();
    const run = prev.then(job, job);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.chains.set(path, tail);
    void tail.then(() => {
      if (this.chains.get(path) === tail) this.chains.delete(path);
    });
    return run;
  }

  private async writeFile(path: string, plain: Buffer, syncDirNow = true): Promise<boolean> {
    if (!this.condition.writable) return false;
    return this.serialize(path, async () => {
      const dir = dirname(path);
      const tmp = join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
      try {
        await this.io.mkdir(dir, { recursive: true, mode: 0o700 });
        const fh = await this.io.open(tmp, 'wx', 0o600);
        try {
          await fh.writeFile(this.seal(this.rel(path), plain));
          await fh.sync();
        } finally {
          await fh.close();
        }
        await this.io.rename(tmp, path);
        if (syncDirNow) await syncDir(dir);
        return true;
      } catch (err) {
        await fsp.rm(tmp, { force: true }).catch(() => undefined);
        this.onWriteError(path, err as NodeJS.ErrnoException);
        return false;
      }
    });
  }

  private onWriteError(path: string, err: NodeJS.ErrnoException): void {
    this.writeErrors++;
    if (err.code && DISK_UNUSABLE.has(err.code)) {
      if (this.condition.writable) {
        this.condition = {
          writable: false,
          reason: err.code === 'EROFS' ? 'CacheReadOnly' : 'CacheDiskFull',
          message: `caching stopped: ${err.code} writing ${this.rel(path)}; free space or remount ${this.root} read-write, then restart the hub`,
        };
        this.log.error('cache.disabled', {
          code: err.code,
          path: this.rel(path),
          hint: this.condition.message,
        });
      }
      return;
    }
    this.log.warn('cache.write_failed', { path: this.rel(path), error: err.message });
  }

  private async readFile(path: string): Promise<unknown | undefined> {
    let data: Buffer;
    try {
      data = await fsp.readFile(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      this.log.warn('cache.read_failed', { path: this.rel(path), error: (err as Error).message });
      return undefined;
    }
    try {
      return JSON.parse(this.open(this.rel(path), data).toString('utf8'));
    } catch (err) {
      await this.quarantine(path, (err as Error).message);
      return undefined;
    }
  }

  private async quarantine(path: string, why: string): Promise<void> {
    this.quarantined++;
    const rel = this.rel(path);
    const dest = join(this.root, QUARANTINE_DIR, `${Date.now()}-${rel.replaceAll('/', '_')}`);
    try {
      await fsp.mkdir(dirname(dest), { recursive: true, mode: 0o700 });
      await fsp.rename(path, dest);
      this.log.warn('cache.quarantined', { path: rel, movedTo: this.rel(dest), reason: why });
    } catch (err) {
      // Could not move it aside (read-only disk): leave it, it will be re-quarantined on the next read.
      this.log.warn('cache.quarantine_failed', { path: rel, reason: why, error: (err as Error).message });
    }
  }

  /** Temp files left by a kill -9 mid-write are garbage; the renamed file is always the whole object. */
  private async sweepTempFiles(dir: string): Promise<void> {
    const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory() && e.name !== QUARANTINE_DIR) await this.sweepTempFiles(p);
      else if (e.isFile() && e.name.startsWith('.tmp-'))
        await fsp.rm(p, { force: true }).catch(() => undefined);
    }
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
