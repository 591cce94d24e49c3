import type { IncomingMessage } from 'node:http';
import { BUILTIN_CACHE_AGENTS } from '../api/hub-config.ts';
import { scanItemMeta, withTypeMeta } from './item-meta.ts';
import { ListSplitter } from './list-splitter.ts';
import type { Logger } from './log.ts';
import type { RequestInfo } from './request-info.ts';
import { inScope, type ListScope, scopeFromQuery } from './selectors.ts';
import type { ObjectKey, ResourceKey, Storage } from './storage.ts';
import { WatchDecoder } from './watch-decoder.ts';

/** Per component+resource bookkeeping written next to the objects. */
export interface ResourceMeta {
  apiVersion: string;
  kind: string;
  listKind: string;
  resourceVersion: string;
}

/**
 * Receives a copy of an upstream response body as it streams to the client. Backpressure follows Node's
 * writable streams: write() always takes the chunk, and answers false when the cache cannot keep up; the
 * caller should then stop reading the upstream until the onDrain callback runs. A sink never holds the
 * stream back for a disk that fails or stalls: it gives up caching that response and drains.
 */
export interface CacheSink {
  write(chunk: Buffer): boolean;
  /** Runs `cb` once, as soon as the sink takes writes without waiting (at once when it is not full). */
  onDrain(cb: () => void): void;
  end(): Promise<void>;
}

/** A list answered from cache. */
export interface CachedList {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion: string };
  items: unknown[];
}

interface K8sObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; continue?: string };
  items?: K8sObject[];
}

/**
 * A LIST held back for the disk is let go (and not cached) when no queued write finished for this long:
 * a slow SD card makes progress, a hung one must not stall the client for ever.
 */
const LIST_STALL_MS = 10_000;
/**
 * Nor is a LIST held back longer than this in total: kube-apiserver aborts a LIST still being written
 * after its request timeout (60 s by default), and a cut list would fail the client. What was queued
 * still lands, so the next LIST (which skips unchanged objects) gets further.
 */
const LIST_HOLD_BUDGET_MS = 40_000;
/** Watch events waiting for the disk (bytes as received); past it the watch stops caching, never pauses. */
const MAX_WATCH_BACKLOG_BYTES = 4 * 1024 * 1024;
/** The callback of a sink that never asks the producer to wait. */
const neverFull = (cb: () => void): void => cb();

/** A list's envelope (everything but its items) is small; a huge one is not a list worth caching. */
const MAX_ENVELOPE_BYTES = 1024 * 1024;
/** Resources never cached: high churn and useless offline. */
const UNCACHED = new Set([
  'events',
  'tokenreviews',
  'subjectaccessreviews',
  'selfsubjectaccessreviews',
  'certificatesigningrequests',
]);

/**
 * Decides what is cached and keeps the cache current from responses flowing through the proxy.
 * Objects are stored once per component+resource; a LIST is answered by filtering them with the
 * request's namespace and selectors, so lists with different selectors never clobber each other.
 */
export class CacheManager {
  private readonly storage: Storage;
  private readonly log: Logger;
  private agents: string[];
  private readonly pending = new Set<Promise<void>>();
  private readonly stallMs: number;
  private readonly holdBudgetMs: number;
  hits = 0;
  misses = 0;
  /**
   * After each complete LIST, by component, resource and scope: the resource's change count
   * (Storage.generation) once it was cached, and how many objects it had.
   */
  private readonly lastComplete = new Map<string, { generation: number; count: number }>();
  /** LIST and WATCH responses whose caching was given up (disk failing, stalled or too slow for a watch). */
  responsesNotCached = 0;

  constructor(
    storage: Storage,
    extraAgents: readonly string[],
    log: Logger,
    opts: { listStallMs?: number; listHoldBudgetMs?: number } = {},
  ) {
    this.storage = storage;
    this.log = log;
    this.agents = [...BUILTIN_CACHE_AGENTS, ...extraAgents];
    this.stallMs = opts.listStallMs ?? LIST_STALL_MS;
    this.holdBudgetMs = opts.listHoldBudgetMs ?? LIST_HOLD_BUDGET_MS;
  }

  /** Whether Secrets may be kept on this node's disk (a pool's policy can forbid it). */
  private secretsAllowed = true;

  /**
   * Applies a pool's Secret policy; turning it off also removes every Secret already cached, so the
   * policy holds for what is on disk, not only for what comes next.
   */
  async setCacheSecrets(allowed: boolean): Promise<number> {
    this.secretsAllowed = allowed;
    if (allowed) return 0;
    let removed = 0;
    const secrets = { resource: 'secrets', version: 'v1', group: '' };
    for (const component of await this.storage.components()) {
      for (const obj of (await this.storage.list(component, secrets)) as K8sObject[]) {
        const k = this.key(component, secrets, obj);
        if (!k) continue;
        await this.storage.delete(k);
        removed++;
      }
    }
    if (removed > 0)
      this.log.info('cache.secrets_purged', { removed, reason: 'pool policy cacheSecrets=false' });
    return removed;
  }

  get cachesSecrets(): boolean {
    return this.secretsAllowed;
  }

  /** Live reload of the configured agents (ConfigMap or config file). */
  setExtraAgents(extra: readonly string[]): void {
    this.agents = [...BUILTIN_CACHE_AGENTS, ...extra];
  }

  isCacheableClient(req: IncomingMessage): boolean {
    if (String(req.headers['edge-cache'] ?? '').toLowerCase() === 'true') return true;
    const ua = req.headers['user-agent'] ?? '';
    return this.agents.some((a) => ua.startsWith(a));
  }

  /** Whether responses to this request carry objects worth keeping. */
  isCacheableRequest(info: RequestInfo): boolean {
    if (!info.isResource || UNCACHED.has(info.resource.resource)) return false;
    if (!this.secretsAllowed && info.resource.resource === 'secrets' && info.resource.group === '')
      return false;
    if (['get', 'list', 'watch'].includes(info.verb)) return info.subresource === '';
    if (['create', 'update', 'patch'].includes(info.verb))
      return info.subresource === '' || info.subresource === 'status';
    return false;
  }

  /**
   * Resolves once every response already received has been written to the cache (tests, shutdown):
   * true then, false if `timeoutMs` passed first (a hung disk must not stop the hub from stopping;
   * every write is temp file + rename, so what did not land leaves the cache as it was).
   */
  async idle(timeoutMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = Number.isFinite(left)
        ? new Promise<void>((r) => {
            timer = setTimeout(r, left);
          })
        : new Promise<void>(() => undefined);
      await Promise.race([Promise.allSettled([...this.pending]), timedOut]);
      clearTimeout(timer);
    }
    return true;
  }

  /** Responses still being written to the cache. */
  get pendingWrites(): number {
    return this.pending.size;
  }

  /** A sink that tees a 2xx JSON response into the cache, or undefined when nothing should be stored. */
  sinkFor(component: string, info: RequestInfo, status: number, contentType: string): CacheSink | undefined {
    const sink = this.pickSink(component, info, status, contentType);
    if (!sink) return undefined;
    return {
      write: (c) => sink.write(c),
      onDrain: (cb) => sink.onDrain(cb),
      end: () => {
        const p = sink.end().finally(() => this.pending.delete(p));
        this.pending.add(p);
        return p;
      },
    };
  }

  private pickSink(
    component: string,
    info: RequestInfo,
    status: number,
    contentType: string,
  ): CacheSink | undefined {
    if (!contentType.startsWith('application/json')) return undefined;
    if (info.verb === 'get' && status === 404) return this.deleteSink(component, info);
    if (status < 200 || status >= 300) return undefined;
    if (info.verb === 'watch') return this.watchSink(component, info);
    if (info.verb === 'list') return this.listSink(component, info);
    return this.objectSink(component, info);
  }

  private key(component: string, r: ResourceKey, obj: K8sObject): ObjectKey | undefined {
    const name = obj.metadata?.name;
    if (!name) return undefined;
    return { component, resource: r, namespace: obj.metadata?.namespace ?? '', name };
  }

  /** Gives up caching one response, counted and logged (proxying goes on regardless). */
  private notCached(event: string, component: string, info: RequestInfo, error: string): void {
    this.responsesNotCached++;
    this.log.warn(event, { component, resource: info.resource.resource, path: info.path, error });
  }

  private diskRefuses(): string {
    const st = this.storage.status;
    return st.writable ? '' : `cache disk not writable (${st.reason}): ${st.message}`;
  }

  private deleteSink(component: string, info: RequestInfo): CacheSink {
    return {
      write: () => true,
      onDrain: neverFull,
      end: async () => {
        await this.storage.delete({
          component,
          resource: info.resource,
          namespace: info.namespace,
          name: info.name,
        });
      },
    };
  }

  private objectSink(component: string, info: RequestInfo): CacheSink {
    const chunks: Buffer[] = [];
    return {
      write: (c) => {
        chunks.push(c);
        return true;
      },
      onDrain: neverFull,
      end: async () => {
        const obj = parse(Buffer.concat(chunks));
        if (!obj || obj.kind === 'Status') return;
        const k = this.key(component, info.resource, obj);
        if (k) await this.storage.put(k, obj);
      },
    };
  }

  /**
   * Splits the LIST body item by item as it streams (never the whole body or its parsed tree in memory)
   * and writes each object as it arrives, a bounded number of writes in flight. When the write queue is
   * full, write() answers false so the proxy reads the upstream at the pace the disk takes; a failing
   * or stuck disk ends that (the list is not cached, the stream goes on at full speed). Only a complete
   * body updates the list's metadata and removes cached objects the list no longer has.
   */
  private listSink(component: string, info: RequestInfo): CacheSink {
    const envelope: Buffer[] = [];
    let envelopeBytes = 0;
    let itemMeta: ResourceMeta | undefined;
    let failed = '';
    const seen = new Set<string>();
    const writes = this.storage.putQueue();
    // The items as the client got them, kept to store the whole list once for offline LISTs of this
    // scope — unless that is already stored and still true (then nothing is kept), or it grows too big.
    const scope = listScopeKey(info);
    const startGeneration = this.storage.generation(component, info.resource);
    let kept: Buffer[] | undefined = scope === undefined ? undefined : [];
    let keptBytes = 0;
    if (scope !== undefined)
      void this.storage.hasList(component, info.resource, scope).then((has) => {
        if (has && writes.changes === 0) kept = undefined;
      });
    /** The queue answered "full" and the producer was (or will be) told to wait. */
    let full = false;
    let waiters: (() => void)[] = [];
    let watchdog: NodeJS.Timeout | undefined;
    /** Time the producer has been held back, before the current hold (which started at heldSince). */
    let heldMs = 0;
    let heldSince = 0;
    const release = (): void => {
      if (full) heldMs += Date.now() - heldSince;
      full = false;
      clearTimeout(watchdog);
      watchdog = undefined;
      const ws = waiters;
      waiters = [];
      for (const cb of ws) cb();
    };
    const abandon = (why: string): void => {
      if (!failed) {
        failed = why;
        this.notCached('cache.list_not_cached', component, info, why);
      }
      release();
    };
    /**
     * While full: a disk that finishes no write in `stallMs` is stuck, and a list held back past the
     * budget would be cut by the API server; either way stop holding it back.
     */
    const watch = (progress: number): void => {
      const budgetLeft = this.holdBudgetMs - heldMs - (Date.now() - heldSince);
      watchdog = setTimeout(
        () => {
          if (!full) return;
          if (heldMs + (Date.now() - heldSince) >= this.holdBudgetMs)
            abandon(`list held back by the cache disk for ${this.holdBudgetMs} ms; the disk is too slow`);
          else if (this.storage.queueWrites === progress)
            abandon(`cache writes stalled: none finished in ${this.stallMs} ms; check the cache disk`);
          else watch(this.storage.queueWrites);
        },
        Math.max(0, Math.min(this.stallMs, budgetLeft)),
      );
      watchdog.unref();
    };
    const metaOf = (env: K8sObject): ResourceMeta => {
      const listKind = env.kind ?? '';
      return {
        apiVersion: env.apiVersion ?? '',
        kind: listKind.replace(/List$/, ''),
        listKind,
        resourceVersion: env.metadata?.resourceVersion ?? '',
      };
    };
    const splitter = new ListSplitter({
      envelope: (b) => {
        envelopeBytes += b.length;
        if (envelopeBytes > MAX_ENVELOPE_BYTES)
          throw new Error(`list envelope over ${MAX_ENVELOPE_BYTES} bytes`);
        envelope.push(Buffer.from(b));
      },
      item: (b) => {
        // The API server writes kind/apiVersion/metadata before items: what came so far, closed, is the envelope.
        itemMeta ??= metaOf(parse(Buffer.concat([...envelope, Buffer.from(']}')])) ?? {});
        // Only the item's identity is read; its bytes are stored as they came (never parsed, never re-serialized).
        const m = scanItemMeta(b);
        if (!m?.name) return;
        const k: ObjectKey = { component, resource: info.resource, namespace: m.namespace, name: m.name };
        seen.add(`${k.namespace}/${k.name}`);
        if (kept) {
          keptBytes += b.length + 1;
          if (keptBytes > MAX_LIST_FILE_BYTES) kept = undefined;
          else kept.push(Buffer.from(b));
        }
        const { apiVersion, kind } = itemMeta;
        // Queued even when full: the rest of this chunk is already in memory (one chunk past the bound).
        if (
          !writes.addBytes(k, m.resourceVersion, () => {
            const plain = withTypeMeta(b, m, apiVersion, kind);
            // The splitter's item may be a view of the network chunk; a queued write keeps its own copy.
            return plain === b ? Buffer.from(b) : plain;
          }) &&
          !full
        ) {
          full = true;
          heldSince = Date.now();
          writes.onDrain(release);
          if (full) watch(this.storage.queueWrites);
        }
      },
    });
    return {
      write: (c) => {
        if (failed) return true;
        const refused = this.diskRefuses();
        if (refused) {
          abandon(refused);
          return true;
        }
        try {
          splitter.push(c);
        } catch (err) {
          abandon((err as Error).message);
          return true;
        }
        return !full;
      },
      onDrain: (cb) => {
        if (full) waiters.push(cb);
        else cb();
      },
      end: async () => {
        // A list cut short keeps its queued objects; only the watchdog and waiters go.
        release();
        await writes.done();
        if (failed || !splitter.complete) return;
        // The disk failed after the last chunk: objects are missing, so the list is not the truth.
        const refused = this.diskRefuses();
        if (refused) {
          abandon(refused);
          return;
        }
        const list = parse(Buffer.concat(envelope));
        if (!list || !Array.isArray(list.items)) return;
        const deleted = await this.finishList(component, info, metaOf(list), list, seen, writes.changes);
        if (kept && scope !== undefined && (list.metadata?.continue ?? '') === '') {
          const items = kept;
          kept = undefined;
          const ownChanges = writes.changes + deleted;
          const body = Buffer.concat(items.flatMap((b, i) => (i === 0 ? [b] : [COMMA, b])));
          await this.storage.putList(component, info.resource, scope, body, startGeneration, ownChanges);
        }
      },
    };
  }

  private async finishList(
    component: string,
    info: RequestInfo,
    meta: ResourceMeta,
    list: K8sObject,
    seen: ReadonlySet<string>,
    ownWrites: number,
  ): Promise<number> {
    let deleted = 0;
    // A complete (unpaged) list is the truth for its scope: drop cached objects in that scope it no longer has.
    const paged = (list.metadata?.continue ?? '') !== '' || info.query.has('continue');
    const key = `${component}\n${info.resource.group}/${info.resource.resource}\n${listScopeKey(info)}`;
    const last = this.lastComplete.get(key);
    // Nothing of the resource changed since the last complete LIST of this scope left exactly `count`
    // objects in it, and this one wrote nothing: its objects are all on disk unchanged, so if there are
    // as many, they are the same ones and there is nothing to delete (no directory read, no decryption).
    const unchanged =
      ownWrites === 0 &&
      last !== undefined &&
      last.generation === this.storage.generation(component, info.resource) &&
      last.count === seen.size;
    if (!paged && !unchanged) {
      const scope = safeScope(info);
      if (scope) {
        const byName = scope.labels.length === 0 && scope.fields.length === 0;
        // Without selectors the names on disk are enough; with them the objects must be read.
        const cached = byName
          ? await this.storage.listKeys(component, info.resource, info.namespace)
          : ((await this.storage.list(component, info.resource, info.namespace)) as K8sObject[])
              .filter((o) => inScope(scope, o))
              .map((o) => this.key(component, info.resource, o))
              .filter((k) => k !== undefined);
        for (const k of cached)
          if (!seen.has(`${k.namespace}/${k.name}`)) {
            await this.storage.delete(k);
            deleted++;
          }
      }
    }
    if (!paged) {
      if (this.lastComplete.size >= 1000) this.lastComplete.clear();
      this.lastComplete.set(key, {
        generation: this.storage.generation(component, info.resource),
        count: seen.size,
      });
    }
    const prev = (await this.storage.getMeta(component, info.resource)) as ResourceMeta | undefined;
    if (!prev || prev.resourceVersion !== meta.resourceVersion || prev.listKind !== meta.listKind) {
      await this.storage.putMeta(component, info.resource, meta);
    }
    return deleted;
  }

  /**
   * Applies watch events in order. A watch is never held back for the disk (its events are late for every
   * client sharing it); instead the events waiting for the disk are bounded, and a watch whose backlog
   * outgrows the bound — or whose disk fails — stops being cached, leaving the resource at the last
   * event applied (a consistent, older view that the next LIST refreshes).
   */
  private watchSink(component: string, info: RequestInfo): CacheSink {
    const decoder = new WatchDecoder();
    let queue = Promise.resolve();
    let backlog = 0;
    let failed = false;
    const giveUp = (why: string): void => {
      failed = true;
      this.notCached('cache.watch_not_cached', component, info, why);
    };
    return {
      write: (c) => {
        if (failed) return true;
        const refused = this.diskRefuses();
        if (refused) giveUp(refused);
        else if (backlog + c.length > MAX_WATCH_BACKLOG_BYTES)
          giveUp(`cache write backlog over ${MAX_WATCH_BACKLOG_BYTES} bytes (disk slower than the events)`);
        if (failed) return true;
        const events = decoder.push(c);
        if (events.length === 0) return true;
        backlog += c.length;
        queue = queue
          .then(async () => {
            for (const ev of events) {
              if (failed) return;
              await this.applyEvent(component, info.resource, ev.type, ev.object as K8sObject);
            }
          })
          // A failed delete (read-only disk) must not break the chain or surface as an unhandled rejection.
          .catch((err: Error) => {
            if (!failed) giveUp(err.message);
          })
          .finally(() => {
            backlog -= c.length;
          });
        return true;
      },
      onDrain: neverFull,
      end: () => queue,
    };
  }

  private async applyEvent(component: string, r: ResourceKey, type: string, obj: K8sObject): Promise<void> {
    if (type === 'ERROR') return;
    const rv = obj.metadata?.resourceVersion ?? '';
    if (type !== 'BOOKMARK') {
      const k = this.key(component, r, obj);
      if (!k) return;
      if (type === 'DELETED') await this.storage.delete(k);
      else await this.storage.put(k, obj);
    }
    const prev = (await this.storage.getMeta(component, r)) as ResourceMeta | undefined;
    const kind = obj.kind ?? prev?.kind ?? '';
    await this.storage.putMeta(component, r, {
      apiVersion: obj.apiVersion ?? prev?.apiVersion ?? '',
      kind,
      listKind: prev?.listKind ?? `${kind}List`,
      resourceVersion: rv || prev?.resourceVersion || '',
    } satisfies ResourceMeta);
  }

  /** GET from cache; undefined when the object is not cached. */
  async getObject(component: string, info: RequestInfo): Promise<unknown | undefined> {
    const obj = await this.storage.get({
      component,
      resource: info.resource,
      namespace: info.namespace,
      name: info.name,
    });
    if (obj === undefined) this.misses++;
    else this.hits++;
    return obj;
  }

  /** LIST from cache filtered by the request's scope; undefined when this component never cached the resource. */
  async listObjects(component: string, info: RequestInfo, scope: ListScope): Promise<CachedList | undefined> {
    const items: unknown[] = [];
    const meta = await this.scanList(component, info, scope, (plain) => {
      items.push(JSON.parse(plain.toString('utf8')));
    });
    if (!meta) return undefined;
    return {
      apiVersion: meta.apiVersion,
      kind: meta.listKind,
      metadata: { resourceVersion: meta.resourceVersion },
      items,
    };
  }

  /**
   * LIST from the list stored whole for this exact scope (one read, one decryption), when it is still
   * true: the resource's metadata and the items as `item,item,…`. Undefined otherwise (scan instead).
   */
  async storedList(
    component: string,
    info: RequestInfo,
  ): Promise<{ meta: ResourceMeta; items: Buffer } | undefined> {
    const scope = listScopeKey(info);
    if (scope === undefined) return undefined;
    const [meta, items] = await Promise.all([
      this.storage.getMeta(component, info.resource) as Promise<ResourceMeta | undefined>,
      this.storage.getList(component, info.resource, scope),
    ]);
    if (!meta || items === undefined) return undefined;
    this.hits++;
    return { meta, items };
  }

  /**
   * LIST from cache as a stream: hands each matching object's JSON bytes to `each`, in namespace/name
   * order, without building the list (objects are parsed only when a selector must look inside them).
   * Undefined when this component never cached the resource.
   */
  async scanList(
    component: string,
    info: RequestInfo,
    scope: ListScope,
    each: (plain: Buffer, meta: ResourceMeta) => void | Promise<void>,
  ): Promise<ResourceMeta | undefined> {
    const meta = (await this.storage.getMeta(component, info.resource)) as ResourceMeta | undefined;
    if (!meta) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    // Files of one namespace are one directory; only selectors need the object itself.
    const selective = scope.labels.length > 0 || scope.fields.length > 0;
    await this.storage.scan(component, info.resource, scope.namespace, (plain) => {
      if (selective && !inScope(scope, JSON.parse(plain.toString('utf8')))) return;
      return each(plain, meta);
    });
    return meta;
  }
}

const COMMA = Buffer.from(',');
/** A list bigger than this is not kept whole for offline (it is still cached object by object). */
const MAX_LIST_FILE_BYTES = 8 * 1024 * 1024;

/**
 * Which stored list answers this LIST: its namespace and selectors as sent (a client re-lists with
 * the same ones). Undefined for a page of a list, which is not the whole scope.
 */
export function listScopeKey(info: RequestInfo): string | undefined {
  // A first page with `limit` may still be the whole list (no continue token): the caller checks that.
  if (info.verb !== 'list' || info.query.has('continue')) return undefined;
  return [info.namespace, info.query.get('labelSelector') ?? '', info.query.get('fieldSelector') ?? ''].join(
    '\n',
  );
}

function safeScope(info: RequestInfo): ListScope | undefined {
  try {
    return scopeFromQuery(info.namespace, info.query);
  } catch {
    return undefined;
  }
}

function parse(buf: Buffer): K8sObject | undefined {
  try {
    const v = JSON.parse(buf.toString('utf8')) as unknown;
    return typeof v === 'object' && v !== null ? (v as K8sObject) : undefined;
  } catch {
    return undefined;
  }
}
