import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createSecretKey,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { readFile as readFileCb } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
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

/** A stream of object writes with backpressure; see Storage.putQueue. */
export interface PutQueue {
  /** Queues one object; false once the queues are full: stop feeding until onDrain. */
  add(k: ObjectKey, obj: unknown): boolean;
  /**
   * As add(), for an object already serialized (a LIST item's own bytes): `plain` is called only when
   * the object has to be written, i.e. its resourceVersion is not the one this process last wrote.
   */
  addBytes(k: ObjectKey, resourceVersion: string, plain: () => Buffer): boolean;
  /** Runs `cb` once, when there is room again or the disk stopped taking writes. */
  onDrain(cb: () => void): void;
  /** Objects this queue took to write (not skipped as unchanged): each is a change of its resource. */
  readonly changes: number;
  done(): Promise<void>;
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
/** Whole LISTs stored once per scope (Storage.putList), beside the components' directories. */
const LISTS_DIR = '.lists';
/** Paths whose last written resourceVersion is remembered (about 150 bytes each). */
const MAX_REMEMBERED = 100_000;

/** Object and namespace names become path segments; anything that could escape or hide is encoded. */
function segment(name: string): string {
  if (name === '') throw new Error('empty path segment');
  const safe = /^[A-Za-z0-9_:-][A-Za-z0-9._:-]*$/.test(name)
    ? name
    : encodeURIComponent(name).replace(/^\./, '%2E');
  return safe === '..' ? '%2E%2E' : safe;
}

/**
 * `<resource>.<version>.<group>`: a dot in the resource or version is encoded, so the name splits back
 * at the first two dots (a resource "a.b" used to come back as resource "a", version "b").
 */
export function resourceDirName(r: ResourceKey): string {
  const noDot = (s: string) => segment(s).replaceAll('.', '%2E');
  return `${noDot(r.resource)}.${noDot(r.version)}.${r.group === '' ? 'core' : segment(r.group)}`;
}

/** The resource a `<resource>.<version>.<group>` directory holds; undefined for any other name. */
export function parseResourceDirName(name: string): ResourceKey | undefined {
  const m = /^([^.]+)\.([^.]+)\.(.+)$/.exec(name);
  if (!m?.[1] || !m[2] || !m[3]) return undefined;
  return {
    resource: decodeURIComponent(m[1]),
    version: decodeURIComponent(m[2]),
    group: m[3] === 'core' ? '' : decodeURIComponent(m[3]),
  };
}

/**
 * The on-disk cache: one encrypted object per file, each write atomic (temp file, fsync, rename,
 * directory fsync) so a kill -9 at any moment leaves either the old or the new object. A file that
 * does not decrypt or parse is moved to `.quarantine`, counted and logged — never fatal.
 */
export class Storage {
  readonly root: string;
  /** A KeyObject made once: a raw Buffer key is re-validated and copied on every cipher (~10 µs a file). */
  private readonly key: KeyObject;
  private readonly log: Logger;
  private readonly io: StorageIo;
  private readonly chains = new Map<string, Promise<void>>();
  private condition: StorageCondition = { writable: true, reason: 'Ready', message: 'cache is writable' };
  quarantined = 0;
  writeErrors = 0;

  constructor(opts: StorageOptions) {
    // Normalised once (no trailing slash), as object paths are built by concatenation.
    this.root = resolve(opts.root);
    this.key = createSecretKey(opts.key);
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

  /** Caching is trusted again (after a resync, or in tests); the next write re-checks. */
  resetCondition(): void {
    this.setCondition({ writable: true, reason: 'Ready', message: 'cache is writable' });
  }

  /**
   * The disk takes writes again but the cache missed what changed meanwhile: writes go on (the
   * resync lands through them), and the condition says the cache is not to be trusted yet.
   */
  markResyncing(): void {
    this.setCondition({
      writable: true,
      reason: 'CacheResyncing',
      message: `the cache disk ${this.root} takes writes again; re-listing what the cache holds from the cloud before trusting it offline`,
    });
  }

  private readonly conditionListeners: ((c: StorageCondition) => void)[] = [];

  /** Runs `cb` on every change of the condition (caching stopped, resyncing, trusted again). */
  onConditionChange(cb: (c: StorageCondition) => void): void {
    this.conditionListeners.push(cb);
  }

  private setCondition(c: StorageCondition): void {
    const changed = c.reason !== this.condition.reason || c.writable !== this.condition.writable;
    this.condition = c;
    if (changed) for (const l of this.conditionListeners) l(c);
  }

  /**
   * Whether the disk takes a write again (a 64 KiB probe file written, fsynced and removed through the
   * same file operations as the cache), so caching can resume without a restart once space returns.
   */
  async probeWritable(): Promise<boolean> {
    const tmp = join(this.root, `.tmp-probe-${randomBytes(6).toString('hex')}`);
    try {
      const fh = await this.io.open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(Buffer.alloc(64 * 1024));
        await fh.sync();
      } finally {
        await fh.close();
      }
      return true;
    } catch {
      return false;
    } finally {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
    }
  }

  objectPath(k: ObjectKey): string {
    // Plain concatenation: segments never hold '/' or '..', and path.join's normalising was a tenth
    // of the cost of caching a re-listed LIST (every item's path is built to check its resourceVersion).
    const dir = this.resourceDir(k.component, k.resource);
    return k.namespace === ''
      ? `${dir}/${segment(k.name)}`
      : `${dir}/${segment(k.namespace)}/${segment(k.name)}`;
  }

  resourceDir(component: string, r: ResourceKey): string {
    return `${this.root}/${segment(component)}/${resourceDirName(r)}`;
  }

  async put(k: ObjectKey, obj: unknown): Promise<boolean> {
    const path = this.objectPath(k);
    const rv = resourceVersionOf(obj);
    if (rv !== '' && this.written.get(path) === rv) return true;
    await this.beforeChange(k);
    const ok = await this.writeFile(path, Buffer.from(JSON.stringify(obj)));
    if (ok) this.remember(path, rv);
    return ok;
  }

  /**
   * Writes objects as they arrive (a LIST being split), at most `parallel` in flight; each queued object
   * waits as its serialized bytes, not as a parsed tree, and an object whose resourceVersion is what this
   * process last wrote for it is not written again (a re-list rewrites only what changed).
   * Backpressure as in Node streams: add() always takes the object but answers false once
   * `maxQueuedBytes` wait in all queues together (the disk is slower than the uplink); the caller then
   * stops feeding until onDrain's callback runs, which is once half the bound is free again — or at once
   * when the disk stopped taking writes (ENOSPC/EROFS), since nothing queued will ever land.
   * done() resolves once all landed and each directory was fsynced once.
   */
  putQueue(parallel = 16, maxQueuedBytes = 16 * 1024 * 1024): PutQueue {
    const queue: { path: string; plain: Buffer; rv: string; ready: Promise<void> }[] = [];
    let changes = 0;
    const dirs = new Set<string>();
    let running = 0;
    let idle: (() => void) | undefined;
    const pump = (): void => {
      while (running < parallel && queue.length > 0) {
        const job = queue.shift() as { path: string; plain: Buffer; rv: string; ready: Promise<void> };
        running++;
        void job.ready
          .then(() => this.writeFile(job.path, job.plain, false))
          .then((ok) => {
            this.queuedBytes -= job.plain.length;
            this.queueWrites++;
            if (ok) dirs.add(dirname(job.path));
            // Forget the version claimed at enqueue time: the file does not hold it.
            else if (this.written.get(job.path) === job.rv) this.written.delete(job.path);
            running--;
            pump();
            this.notifyDrain();
            if (running === 0 && queue.length === 0) idle?.();
          });
      }
    };
    const addBytes = (k: ObjectKey, rv: string, bytes: () => Buffer): boolean => {
      // Nothing queued for a disk that refuses writes: it would only hold memory.
      if (!this.condition.writable) return true;
      const path = this.objectPath(k);
      if (rv !== '' && this.written.get(path) === rv) return this.queuedBytes < maxQueuedBytes;
      const plain = bytes();
      this.queuedBytes += plain.length;
      // Claimed now, not when written: a re-list arriving while this one is still landing skips it.
      this.remember(path, rv);
      changes++;
      queue.push({ path, plain, rv, ready: this.beforeChange(k) });
      pump();
      return this.queuedBytes < maxQueuedBytes;
    };
    return {
      add: (k, obj) => addBytes(k, resourceVersionOf(obj), () => Buffer.from(JSON.stringify(obj))),
      addBytes: (k, rv, bytes) => addBytes(k, rv, bytes),
      onDrain: (cb) => {
        this.drainWaiters.add({ below: maxQueuedBytes / 2, cb });
        this.notifyDrain();
      },
      get changes() {
        return changes;
      },
      done: async () => {
        if (running > 0 || queue.length > 0) await new Promise<void>((r) => (idle = r));
        await Promise.all([...dirs].map((d) => syncDir(d).catch(() => undefined)));
      },
    };
  }

  /** Callers of putQueue().onDrain waiting for room in the queues. */
  private readonly drainWaiters = new Set<{ below: number; cb: () => void }>();
  /** Queued writes finished (landed or failed), so a caller can tell a slow disk from a stuck one. */
  queueWrites = 0;

  private notifyDrain(): void {
    for (const w of [...this.drainWaiters]) {
      if (this.condition.writable && this.queuedBytes > w.below) continue;
      this.drainWaiters.delete(w);
      w.cb();
    }
  }

  /** Serialized objects waiting in put queues, all lists together. */
  private queuedBytes = 0;

  get queuedWriteBytes(): number {
    return this.queuedBytes;
  }

  /** Paths written by this process and the resourceVersion written, so unchanged objects are not rewritten. */
  private readonly written = new Map<string, string>();

  private remember(path: string, rv: string): void {
    if (rv === '') {
      this.written.delete(path);
      return;
    }
    // A bound, not a cache policy: past it the memo restarts and objects are simply written again.
    if (this.written.size >= MAX_REMEMBERED) this.written.clear();
    this.written.set(path, rv);
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
        await this.beforeChange(it.key);
        if (await this.writeFile(path, Buffer.from(JSON.stringify(it.obj)), false)) {
          dirs.add(dirname(path));
          this.remember(path, resourceVersionOf(it.obj));
        }
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
    this.written.delete(path);
    await this.beforeChange(k);
    await this.serialize(path, async () => {
      await fsp.rm(path, { force: true });
    });
  }

  /**
   * Changes of each resource (object writes and deletes taken), counted when they are taken, so a
   * list written once (putList) can tell whether anything changed since the LIST it holds began.
   */
  private readonly generations = new Map<string, number>();
  /** The list files of each resource, read from disk once per process (undefined until then). */
  private readonly listFiles = new Map<string, Set<string>>();
  private readonly listFilesLoading = new Map<string, Promise<Set<string>>>();

  /** Changes taken so far for one resource of one component (see putList). */
  generation(component: string, r: ResourceKey): number {
    return this.generations.get(this.resourceDir(component, r)) ?? 0;
  }

  private listDir(component: string, r: ResourceKey): string {
    return `${this.root}/${LISTS_DIR}/${segment(component)}/${resourceDirName(r)}`;
  }

  private listPath(component: string, r: ResourceKey, scope: string): string {
    return `${this.listDir(component, r)}/${createHash('sha256').update(scope).digest('hex').slice(0, 32)}`;
  }

  private loadListFiles(component: string, r: ResourceKey): Promise<Set<string>> {
    const dir = this.listDir(component, r);
    const known = this.listFiles.get(dir);
    if (known) return Promise.resolve(known);
    let p = this.listFilesLoading.get(dir);
    if (!p) {
      p = fsp
        .readdir(dir)
        .catch(() => [] as string[])
        .then((names) => {
          const set =
            this.listFiles.get(dir) ??
            new Set(names.filter((n) => !n.startsWith('.')).map((n) => `${dir}/${n}`));
          this.listFiles.set(dir, set);
          this.listFilesLoading.delete(dir);
          return set;
        });
      this.listFilesLoading.set(dir, p);
    }
    return p;
  }

  /**
   * Every object write and delete comes through here first: the change is counted at once, and the
   * resource's list files — which no longer tell the truth — are removed before the object changes on
   * disk, so a kill at any moment never leaves a list file newer than an object it disagrees with.
   */
  private beforeChange(k: ObjectKey): Promise<void> {
    const dir = this.resourceDir(k.component, k.resource);
    this.generations.set(dir, (this.generations.get(dir) ?? 0) + 1);
    const known = this.listFiles.get(this.listDir(k.component, k.resource));
    if (known && known.size === 0) return Promise.resolve();
    return this.loadListFiles(k.component, k.resource).then(async (files) => {
      const paths = [...files];
      files.clear();
      await Promise.all(
        paths.map((p) =>
          this.serialize(p, async () => {
            await fsp.rm(p, { force: true });
          }).catch(() => undefined),
        ),
      );
    });
  }

  /**
   * One LIST's items as the client got them (`item,item,…`), stored whole for its scope (namespace and
   * selectors), so an offline LIST of that scope is one read and one decryption instead of one per
   * object. Written only when no object of the resource changed since the LIST began apart from the
   * LIST's own `ownChanges` (`startGeneration` from generation() then); any later change removes it.
   */
  async putList(
    component: string,
    r: ResourceKey,
    scope: string,
    items: Buffer,
    startGeneration: number,
    ownChanges: number,
  ): Promise<boolean> {
    const files = await this.loadListFiles(component, r);
    if (this.generation(component, r) !== startGeneration + ownChanges) return false;
    const path = this.listPath(component, r, scope);
    // Known before it lands: a change taken from now on queues its removal behind this write.
    files.add(path);
    const ok = await this.writeFile(path, items);
    if (!ok) files.delete(path);
    return ok;
  }

  /** Whether a list is stored for this scope and no object changed since. */
  async hasList(component: string, r: ResourceKey, scope: string): Promise<boolean> {
    return (await this.loadListFiles(component, r)).has(this.listPath(component, r, scope));
  }

  /** The items stored by putList for this scope, when no object changed since; undefined otherwise. */
  async getList(component: string, r: ResourceKey, scope: string): Promise<Buffer | undefined> {
    const files = await this.loadListFiles(component, r);
    const path = this.listPath(component, r, scope);
    if (!files.has(path)) return undefined;
    try {
      return this.open(this.rel(path), await readWhole(path));
    } catch (err) {
      files.delete(path);
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') await this.quarantine(path, (err as Error).message);
      return undefined;
    }
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

  /** Cache files of one resource (sorted by namespace, then name), optionally one namespace only. */
  private async files(
    component: string,
    r: ResourceKey,
    namespace: string,
  ): Promise<{ path: string; namespace: string; name: string }[]> {
    const dir = this.resourceDir(component, r);
    const out: { path: string; namespace: string; name: string }[] = [];
    const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      if (e.isDirectory()) {
        if (namespace !== '' && e.name !== segment(namespace)) continue;
        const inner = await fsp.readdir(join(dir, e.name), { withFileTypes: true }).catch(() => []);
        for (const f of inner)
          if (f.isFile() && !f.name.startsWith('.'))
            out.push({
              path: join(dir, e.name, f.name),
              namespace: decodeURIComponent(e.name),
              name: decodeURIComponent(f.name),
            });
      } else if (e.isFile() && namespace === '') {
        out.push({ path: join(dir, e.name), namespace: '', name: decodeURIComponent(e.name) });
      }
    }
    return out.sort((a, b) =>
      a.namespace === b.namespace ? cmp(a.name, b.name) : cmp(a.namespace, b.namespace),
    );
  }

  /** Keys of the cached objects of one resource, from file names alone (nothing read or decrypted). */
  async listKeys(component: string, r: ResourceKey, namespace = ''): Promise<ObjectKey[]> {
    return (await this.files(component, r, namespace)).map((f) => ({
      component,
      resource: r,
      namespace: f.namespace,
      name: f.name,
    }));
  }

  /** All objects of one resource for a component, optionally one namespace only. */
  async list(component: string, r: ResourceKey, namespace = ''): Promise<unknown[]> {
    const out: unknown[] = [];
    await this.scan(component, r, namespace, (plain) => {
      try {
        out.push(JSON.parse(plain.toString('utf8')));
      } catch {
        // readPlain already quarantined anything that does not decrypt; a parse failure cannot follow
      }
    });
    return out;
  }

  /**
   * Reads and decrypts every object of one resource, `parallel` files at a time (reads overlap on the
   * thread pool), handing each plaintext to `each` in namespace/name order. Memory stays bounded by the
   * window, whatever the number of objects.
   */
  async scan(
    component: string,
    r: ResourceKey,
    namespace: string,
    each: (plain: Buffer) => void | Promise<void>,
    parallel = 32,
  ): Promise<void> {
    const files = await this.files(component, r, namespace);
    const window: Promise<Buffer | undefined>[] = [];
    let next = 0;
    const fill = (): void => {
      while (window.length < parallel && next < files.length)
        window.push(this.readPlain((files[next++] as { path: string }).path));
    };
    fill();
    while (window.length > 0) {
      const plain = await (window.shift() as Promise<Buffer | undefined>);
      fill();
      if (plain !== undefined) await each(plain);
    }
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
      const r = e.isDirectory() ? parseResourceDirName(e.name) : undefined;
      if (r) out.push(r);
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

  /** Free (for unprivileged writers) and total bytes of the cache's filesystem, from one statfs. */
  async disk(): Promise<{ freeBytes: number; totalBytes: number }> {
    const s = await fsp.statfs(this.root);
    return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  }

  async diskFreeBytes(): Promise<number> {
    return (await this.disk()).freeBytes;
  }

  async diskSizeBytes(): Promise<number> {
    return (await this.disk()).totalBytes;
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
        this.setCondition({
          writable: false,
          reason: err.code === 'EROFS' ? 'CacheReadOnly' : 'CacheDiskFull',
          message: `caching stopped: ${err.code} writing ${this.rel(path)}; the cache misses what changes from now on. Free space on (or remount read-write) ${this.root}: the hub then re-lists what it caches and resumes`,
        });
        this.log.error('cache.disabled', {
          code: err.code,
          path: this.rel(path),
          hint: this.condition.message,
        });
        // Whoever waits for the queue to drain must not wait for writes that will never land.
        this.notifyDrain();
      }
      return;
    }
    this.log.warn('cache.write_failed', { path: this.rel(path), error: err.message });
  }

  private async readFile(path: string): Promise<unknown | undefined> {
    const plain = await this.readPlain(path);
    if (plain === undefined) return undefined;
    try {
      return JSON.parse(plain.toString('utf8'));
    } catch (err) {
      await this.quarantine(path, (err as Error).message);
      return undefined;
    }
  }

  /** The decrypted bytes of one cache file, checked to be JSON; undefined when absent or quarantined. */
  private async readPlain(path: string): Promise<Buffer | undefined> {
    let data: Buffer;
    try {
      data = await readWhole(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      this.log.warn('cache.read_failed', { path: this.rel(path), error: (err as Error).message });
      return undefined;
    }
    try {
      const plain = this.open(this.rel(path), data);
      // GCM already proves the bytes are what we wrote; a file we wrote is always one JSON object.
      if (plain[0] !== 0x7b || plain[plain.length - 1] !== 0x7d) throw new Error('not a JSON object');
      return plain;
    } catch (err) {
      await this.quarantine(path, (err as Error).message);
      return undefined;
    }
  }

  private async quarantine(path: string, why: string): Promise<void> {
    this.quarantined++;
    this.written.delete(path);
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

/**
 * fs.readFile with a callback: for the small files of the cache it is several times faster than the
 * promise API's readFile (which reads in separate chunked steps), and it still runs on the thread pool.
 */
function readWhole(path: string): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    readFileCb(path, (err, data) => (err ? reject(err) : resolve(data))),
  );
}

function resourceVersionOf(obj: unknown): string {
  const rv = (obj as { metadata?: { resourceVersion?: unknown } } | undefined)?.metadata?.resourceVersion;
  return typeof rv === 'string' ? rv : '';
}

/** Code-unit order, as the API server sorts by key (not locale order). */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function syncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
