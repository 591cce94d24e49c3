import type { ServerResponse } from 'node:http';
import type { CacheManager, ResourceMeta } from './cache-manager.ts';
import { isJsonType, type Journal, type JournalKind } from './journal.ts';
import { sendJson, sendStatus } from './k8s-status.ts';
import type { Logger } from './log.ts';
import type { RequestInfo } from './request-info.ts';
import { type ListScope, type SelectorError, scopeFromQuery } from './selectors.ts';

/** Which writes the node keeps while offline; everything else is refused, never faked. */
export function journalKindOf(info: RequestInfo): JournalKind | undefined {
  const r = info.resource;
  if (info.verb !== 'create' && info.verb !== 'update' && info.verb !== 'patch') return undefined;
  if (r.resource === 'events' && (r.group === '' || r.group === 'events.k8s.io')) return 'event';
  if (info.subresource !== 'status' || r.group !== '') return undefined;
  if (r.resource === 'nodes') return 'node-status';
  if (r.resource === 'pods') return 'pod-status';
  return undefined;
}

/** kubelet registering its node (POST /api/v1/nodes), which it does at every start. */
export function isNodeRegistration(info: RequestInfo): boolean {
  return (
    info.verb === 'create' &&
    info.resource.resource === 'nodes' &&
    info.resource.group === '' &&
    info.name === '' &&
    info.subresource === ''
  );
}

/** Writes whose body the offline path needs (journaled, or inspected to answer). */
export function offlineNeedsBody(info: RequestInfo): boolean {
  return journalKindOf(info) !== undefined || isNodeRegistration(info);
}

/** The request as the offline path sees it: body and the headers that say how it is encoded. */
export interface OfflineWrite {
  body: Buffer;
  contentType: string;
  contentEncoding?: string;
  accept?: string;
}

/**
 * Answers requests while the cloud is unreachable: reads from the cache, watches held open (ended
 * cleanly when the cloud returns so clients re-list), node-owned writes journaled.
 */
export class OfflineServer {
  private readonly cache: CacheManager;
  private readonly journal: Journal;
  private readonly log: Logger;
  private readonly held = new Set<ServerResponse>();
  private readonly nodeName: string;

  constructor(cache: CacheManager, journal: Journal, log: Logger, nodeName = '') {
    this.cache = cache;
    this.journal = journal;
    this.log = log;
    this.nodeName = nodeName;
  }

  get heldWatches(): number {
    return this.held.size;
  }

  /** The cloud is back: end every held watch cleanly. */
  releaseWatches(): void {
    for (const res of [...this.held]) {
      this.held.delete(res);
      res.end();
    }
  }

  async read(
    res: ServerResponse,
    info: RequestInfo,
    component: string,
    cacheable: boolean,
    why: string,
  ): Promise<void> {
    if (!cacheable || !info.isResource) {
      sendStatus(
        res,
        503,
        'ServiceUnavailable',
        `the cloud is unreachable (${why}) and ${info.path} is not served from the node cache`,
      );
      return;
    }
    if (info.verb === 'watch') {
      if (info.query.get('sendInitialEvents') === 'true')
        await this.streamInitialEvents(res, info, component);
      else this.hold(res, info);
      return;
    }
    if (info.verb === 'get') {
      const obj = await this.cache.getObject(component, info);
      if (obj === undefined) {
        sendStatus(
          res,
          404,
          'NotFound',
          `${info.resource.resource} "${info.name}" not found in the node cache (cloud unreachable: ${why})`,
          {
            name: info.name,
            kind: info.resource.resource,
          },
        );
        return;
      }
      sendJson(res, 200, obj);
      return;
    }
    const scope = scopeOrBadRequest(res, info);
    if (!scope) return;
    const isKubeletPods = isKubeletPodList(component, info);
    // The list stored whole for this scope when it is still true: one read instead of one per object.
    // (An empty one goes the long way, which knows when an empty pod list must not be answered.)
    const stored = await this.cache.storedList(component, info);
    if (stored && stored.items.length > 0) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`${listHead(stored.meta)},"items":[`);
      res.write(stored.items);
      res.end(']}');
      return;
    }
    // Streamed object by object from the cache files: a 5,000-object list is never built in memory.
    let opened = false;
    const open = (meta: ResourceMeta): void => {
      opened = true;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`${listHead(meta)},"items":[`);
    };
    // Objects are sent in ~64 KiB writes: one write (one chunk, one syscall) per object is most of the time.
    let batch: Buffer[] = [];
    let batchBytes = 0;
    const flush = async (): Promise<void> => {
      const chunk = Buffer.concat(batch);
      batch = [];
      batchBytes = 0;
      if (!res.write(chunk) && !res.destroyed) await new Promise((r) => res.once('drain', r));
    };
    const meta = await this.cache.scanList(component, info, scope, async (plain, m) => {
      if (opened) batch.push(COMMA);
      else open(m);
      batch.push(plain);
      batchBytes += plain.length + 1;
      if (batchBytes >= 64 * 1024) await flush();
    });
    if (opened) {
      if (batchBytes > 0) await flush();
      res.end(']}');
      return;
    }
    // An empty pod list would make kubelet kill every running pod; 404 makes it keep what it runs.
    if (isKubeletPods) {
      sendStatus(
        res,
        404,
        'NotFound',
        'no pods in the node cache for this node; answering 404 so kubelet keeps running pods',
      );
      return;
    }
    if (!meta) {
      sendStatus(
        res,
        503,
        'ServiceUnavailable',
        `the cloud is unreachable (${why}) and ${component} never cached ${info.resource.resource}`,
      );
      return;
    }
    open(meta);
    res.end(']}');
  }

  /**
   * A streaming list (client-go's WatchList, kubelet's default since 1.35: `watch` with
   * `sendInitialEvents=true`) must get the current objects as ADDED events and a bookmark marked
   * `k8s.io/initial-events-end`, or the client's informer never syncs — after a restart offline,
   * kubelet would not see its own node or pods. Then the watch is held like any other.
   */
  private async streamInitialEvents(
    res: ServerResponse,
    info: RequestInfo,
    component: string,
  ): Promise<void> {
    const scope = scopeOrBadRequest(res, info);
    if (!scope) return;
    const isKubeletPods = isKubeletPodList(component, info);
    this.hold(res, info);
    // Streamed object by object like a LIST from cache: the initial events are never built whole.
    let sent = 0;
    const meta = await this.cache.scanList(component, info, scope, async (plain, m) => {
      if (res.destroyed) return;
      const item = JSON.parse(plain.toString('utf8')) as object;
      const event = { type: 'ADDED', object: { apiVersion: m.apiVersion, kind: kindOf(m), ...item } };
      sent++;
      if (!res.write(`${JSON.stringify(event)}\n`) && !res.destroyed)
        await new Promise((r) => res.once('drain', r));
    });
    // Never cached, or an empty pod list for kubelet (which would kill running pods): stay unsynced.
    if (!meta || res.destroyed || (isKubeletPods && sent === 0)) return;
    const end = {
      apiVersion: meta.apiVersion,
      kind: kindOf(meta),
      metadata: {
        resourceVersion: meta.resourceVersion,
        annotations: { 'k8s.io/initial-events-end': 'true' },
      },
    };
    res.write(`${JSON.stringify({ type: 'BOOKMARK', object: end })}\n`);
  }

  private hold(res: ServerResponse, info: RequestInfo): void {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private' });
    res.flushHeaders();
    this.held.add(res);
    const timeout = Number(info.query.get('timeoutSeconds') ?? '0');
    let timer: NodeJS.Timeout | undefined;
    if (timeout > 0) {
      timer = setTimeout(() => {
        this.held.delete(res);
        res.end();
      }, timeout * 1000);
    }
    res.on('close', () => {
      if (timer) clearTimeout(timer);
      this.held.delete(res);
    });
  }

  /** Journals a node-owned write and answers as the API server would have, as far as the cache allows. */
  async write(res: ServerResponse, info: RequestInfo, component: string, w: OfflineWrite): Promise<void> {
    if (isNodeRegistration(info) && (await this.answerNodeExists(res, info, component, w))) return;
    const kind = journalKindOf(info);
    if (!kind) {
      sendStatus(
        res,
        503,
        'ServiceUnavailable',
        `the cloud is unreachable: ${info.verb} ${info.resource.resource} is refused while the node is offline (only node status, pod status and events are journaled)`,
      );
      return;
    }
    try {
      await this.journal.append({
        kind,
        method: info.verb === 'create' ? 'POST' : info.verb === 'update' ? 'PUT' : 'PATCH',
        path: info.path + queryOf(info),
        contentType: w.contentType,
        contentEncoding: w.contentEncoding,
        body: w.body,
      });
    } catch (err) {
      this.log.error('journal.append_failed', { path: info.path, error: (err as Error).message });
      sendStatus(
        res,
        503,
        'ServiceUnavailable',
        `offline and the write journal is unusable: ${(err as Error).message}`,
      );
      return;
    }
    const code = info.verb === 'create' ? 201 : 200;
    if (info.verb !== 'patch') {
      // A create/update answers with the object written: the client's own body is that object.
      const parsed = parseJson(w);
      if (parsed !== undefined) {
        sendJson(res, code, parsed);
        return;
      }
      if (!w.contentEncoding && accepts(w.accept, w.contentType)) {
        // Protobuf (kubelet's events): echo the bytes, so the client learns e.g. the event name it
        // later PATCHes, exactly as the API server's answer would tell it.
        res.writeHead(code, { 'content-type': w.contentType, 'content-length': w.body.length });
        res.end(w.body);
        return;
      }
    }
    // A patch answers with the object; the cached copy is the best the node knows.
    const cached = await this.cache.getObject(component, { ...info, subresource: '' });
    if (cached !== undefined) {
      sendJson(res, code, cached);
      return;
    }
    if (kind === 'event') {
      sendJson(res, code, {});
      return;
    }
    sendStatus(
      res,
      503,
      'ServiceUnavailable',
      `offline: ${info.verb} journaled, but ${info.resource.resource} "${info.name}" is not cached to answer with`,
    );
  }

  /**
   * kubelet registers its node at every start and retries a failure forever, never reaching its status
   * updates. Offline, a node this hub has cached exists in the cloud (the cache only holds what the API
   * server returned), so the truthful answer is the API server's own: 409 AlreadyExists. kubelet then
   * reads the node (from the cache) and goes on to status updates, which are journaled.
   * Returns false when the node is not this hub's or not cached (the caller refuses with 503).
   */
  private async answerNodeExists(
    res: ServerResponse,
    info: RequestInfo,
    component: string,
    w: OfflineWrite,
  ): Promise<boolean> {
    const name = this.nodeName;
    if (name === '') return false;
    const parsed = parseJson(w) as { metadata?: { name?: string } } | undefined;
    // Protobuf bodies are not decoded here; the node's name is at least among their bytes.
    const isOwnNode =
      parsed !== undefined ? parsed.metadata?.name === name : w.body.includes(Buffer.from(name));
    if (!isOwnNode) return false;
    const cached = await this.cache.getObject(component, { ...info, name });
    if (cached === undefined) return false;
    sendStatus(res, 409, 'AlreadyExists', `nodes "${name}" already exists`, { name, kind: 'nodes' });
    return true;
  }
}

/** The body as JSON when it is JSON; undefined for protobuf, compressed or malformed bodies. */
/** The request's list scope (namespace, selectors), or undefined after answering 400 for a bad selector. */
function scopeOrBadRequest(res: ServerResponse, info: RequestInfo): ListScope | undefined {
  try {
    return scopeFromQuery(info.namespace, info.query);
  } catch (err) {
    sendStatus(res, 400, 'BadRequest', (err as SelectorError).message);
    return undefined;
  }
}

/** kubelet's own pod list: never answered empty offline, or kubelet would kill its running pods. */
function isKubeletPodList(component: string, info: RequestInfo): boolean {
  return component === 'kubelet' && info.resource.resource === 'pods' && info.resource.group === '';
}

/** The kind of one object of a cached list (`PodList` → `Pod`). */
function kindOf(meta: ResourceMeta): string {
  return meta.listKind.replace(/List$/, '');
}

function parseJson(w: OfflineWrite): unknown {
  if (w.contentEncoding || !isJsonType(w.contentType)) return undefined;
  try {
    return JSON.parse(w.body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Whether an Accept header admits a media type (no header admits anything). */
function accepts(accept: string | undefined, type: string): boolean {
  if (!accept) return true;
  const want = type.split(';')[0]?.trim().toLowerCase();
  return accept
    .split(',')
    .map((a) => a.split(';')[0]?.trim().toLowerCase())
    .some((a) => a === '*/*' || a === want || a === `${want?.split('/')[0]}/*`);
}

const COMMA = Buffer.from(',');

/** A cached list's envelope up to its items, open: `{"apiVersion":…,"kind":…,"metadata":{…}`. */
function listHead(meta: ResourceMeta): string {
  const head = JSON.stringify({
    apiVersion: meta.apiVersion,
    kind: meta.listKind,
    metadata: { resourceVersion: meta.resourceVersion },
  });
  return head.slice(0, -1);
}

function queryOf(info: RequestInfo): string {
  const q = info.query.toString();
  return q ? `?${q}` : '';
}
