import type { ServerResponse } from 'node:http';
import type { CacheManager } from './cache-manager.ts';
import type { Journal, JournalKind } from './journal.ts';
import { sendJson, sendStatus } from './k8s-status.ts';
import type { Logger } from './log.ts';
import type { RequestInfo } from './request-info.ts';
import { type SelectorError, scopeFromQuery } from './selectors.ts';

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

/**
 * Answers requests while the cloud is unreachable: reads from the cache, watches held open (ended
 * cleanly when the cloud returns so clients re-list), node-owned writes journaled.
 */
export class OfflineServer {
  private readonly cache: CacheManager;
  private readonly journal: Journal;
  private readonly log: Logger;
  private readonly held = new Set<ServerResponse>();

  constructor(cache: CacheManager, journal: Journal, log: Logger) {
    this.cache = cache;
    this.journal = journal;
    this.log = log;
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
    let scope: ReturnType<typeof scopeFromQuery>;
    try {
      scope = scopeFromQuery(info.namespace, info.query);
    } catch (err) {
      sendStatus(res, 400, 'BadRequest', (err as SelectorError).message);
      return;
    }
    const list = await this.cache.listObjects(component, info, scope);
    const isKubeletPods =
      component === 'kubelet' && info.resource.resource === 'pods' && info.resource.group === '';
    // An empty pod list would make kubelet kill every running pod; 404 makes it keep what it runs.
    if (isKubeletPods && (!list || list.items.length === 0)) {
      sendStatus(
        res,
        404,
        'NotFound',
        'no pods in the node cache for this node; answering 404 so kubelet keeps running pods',
      );
      return;
    }
    if (!list) {
      sendStatus(
        res,
        503,
        'ServiceUnavailable',
        `the cloud is unreachable (${why}) and ${component} never cached ${info.resource.resource}`,
      );
      return;
    }
    sendJson(res, 200, list);
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
    let scope: ReturnType<typeof scopeFromQuery>;
    try {
      scope = scopeFromQuery(info.namespace, info.query);
    } catch (err) {
      sendStatus(res, 400, 'BadRequest', (err as SelectorError).message);
      return;
    }
    const list = await this.cache.listObjects(component, info, scope);
    const isKubeletPods =
      component === 'kubelet' && info.resource.resource === 'pods' && info.resource.group === '';
    this.hold(res, info);
    // Never cached, or an empty pod list for kubelet (which would kill running pods): stay unsynced.
    if (!list || (isKubeletPods && list.items.length === 0)) return;
    const kind = list.kind.replace(/List$/, '');
    for (const item of list.items)
      res.write(
        `${JSON.stringify({ type: 'ADDED', object: { apiVersion: list.apiVersion, kind, ...(item as object) } })}\n`,
      );
    const end = {
      apiVersion: list.apiVersion,
      kind,
      metadata: {
        resourceVersion: list.metadata.resourceVersion,
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
  async write(
    res: ServerResponse,
    info: RequestInfo,
    component: string,
    body: Buffer,
    contentType: string,
  ): Promise<void> {
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
      await this.journal.append(
        kind,
        info.verb === 'create' ? 'POST' : info.verb === 'update' ? 'PUT' : 'PATCH',
        info.path + queryOf(info),
        contentType,
        body.toString('utf8'),
      );
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
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      parsed = {};
    }
    if (kind === 'event') {
      sendJson(res, info.verb === 'create' ? 201 : 200, parsed);
      return;
    }
    if (info.verb === 'update') {
      sendJson(res, 200, parsed);
      return;
    }
    // A patch answers with the object; the cached copy is the best the node knows.
    const cached = await this.cache.getObject(component, { ...info, subresource: '' });
    if (cached === undefined) {
      sendStatus(
        res,
        503,
        'ServiceUnavailable',
        `offline: patch journaled, but ${info.resource.resource} "${info.name}" is not cached to answer with`,
      );
      return;
    }
    sendJson(res, 200, cached);
  }
}

function queryOf(info: RequestInfo): string {
  const q = info.query.toString();
  return q ? `?${q}` : '';
}
