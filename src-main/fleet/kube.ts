/**
 * The one write client of the main process. Credentials come from the source's client-node
 * KubeConfig (certificates, tokens, exec plugins: whatever viewing uses); requests go through
 * clusters/api.ts. We do not use client-node's generic object API for bodies: it re-serialises
 * them through its typed models, which loses the nulls a merge patch needs to remove a label.
 *
 * Writes are server-side apply or merge patches with field manager `edgefleet-app`. A cluster the
 * live view already knows to be unreachable is refused at once; a write is never queued.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { type ApiResponse, NetworkError, requestJson } from '../clusters/api.ts';
import { AppError } from '../ipc/errors.ts';
import type { ConnectionInfo } from '../ipc/types.ts';
import { type Access, apiError, unreachable } from './api-errors.ts';

export const FIELD_MANAGER = 'edgefleet-app';

export interface Ref {
  group: string;
  version: string;
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export function pathOf(r: Ref): string {
  const base = r.group ? `/apis/${r.group}${r.version ? `/${r.version}` : ''}` : `/api/${r.version}`;
  // An empty resource addresses discovery: the group or group/version document itself.
  if (!r.resource) return base;
  const ns = r.namespace ? `/namespaces/${encodeURIComponent(r.namespace)}` : '';
  const name = r.name ? `/${encodeURIComponent(r.name)}` : '';
  const sub = r.subresource ? `/${r.subresource}` : '';
  return `${base}${ns}/${r.resource}${name}${sub}`;
}

/** "node kwok-0", "nodepool.apps.openyurt.io north", "pod default/web-1". */
export function describeRef(r: Ref): string {
  const kind = r.resource.replace(/s$/, '');
  const id = r.namespace && r.name ? `${r.namespace}/${r.name}` : (r.name ?? `(all ${r.resource})`);
  return `${kind} ${id}`;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
const VERB: Record<Method, string> = { GET: 'get', POST: 'create', PATCH: 'patch', DELETE: 'delete' };

export interface CallOptions {
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
  /** RBAC verb when the method does not say it (list, deletecollection). */
  verb?: string;
  signal?: AbortSignal;
}

export interface WriteOptions {
  /** dryRun=All: the server runs validation, admission and webhooks but stores nothing. */
  dryRun?: boolean;
}

export interface FleetKubeOptions {
  /** The live view's connection state for this cluster, when it is being watched. */
  connection?: () => ConnectionInfo | undefined;
  timeoutMs?: number;
}

export class FleetKube {
  private readonly kc: KubeConfig;
  private readonly opts: FleetKubeOptions;

  constructor(kc: KubeConfig, opts: FleetKubeOptions = {}) {
    this.kc = kc;
    this.opts = opts;
  }

  /** One exchange; any HTTP status resolves. An unreachable cluster becomes `fleet/unreachable`. */
  async call(method: Method, r: Ref, o: CallOptions = {}): Promise<ApiResponse> {
    const conn = this.opts.connection?.();
    if (method !== 'GET' && conn?.state === 'unreachable')
      throw unreachable(conn.lastError?.message ?? `no contact since ${conn.lastContactAt ?? conn.since}`);
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined) q.set(k, v);
    const qs = q.size ? `?${q}` : '';
    try {
      return await requestJson(this.kc, `${pathOf(r)}${qs}`, {
        method,
        body: o.body,
        ...(o.contentType ? { contentType: o.contentType } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
        timeoutMs: this.opts.timeoutMs ?? 30_000,
      });
    } catch (e) {
      if (e instanceof NetworkError) throw unreachable(e.message);
      // client-node throws plain Errors for exec plugin failures ("SSO session expired").
      if (!(e instanceof AppError))
        throw new AppError('fleet/credentials', `Could not authenticate: ${(e as Error).message}`);
      throw e;
    }
  }

  /** As call(), with any non-2xx answer thrown as an AppError. */
  async ok<T>(method: Method, r: Ref, o: CallOptions = {}): Promise<T> {
    const res = await this.call(method, r, o);
    if (res.status >= 200 && res.status < 300) return res.body as T;
    throw apiError(res.status, res.body, accessOf(method, r, o.verb), describeRef(r));
  }

  get<T>(r: Ref): Promise<T> {
    return this.ok<T>('GET', r);
  }

  /** Every item, page by page (500 at a time: big fleets must not make one huge response). */
  async list<T>(r: Ref, selectors: { labelSelector?: string; fieldSelector?: string } = {}): Promise<T[]> {
    const out: T[] = [];
    let cont: string | undefined;
    do {
      const page = await this.ok<{ items: T[]; metadata?: { continue?: string } }>('GET', r, {
        verb: 'list',
        query: { ...selectors, limit: '500', continue: cont },
      });
      out.push(...page.items);
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return out;
  }

  /** Server-side apply as `edgefleet-app`; `force` takes over fields another manager owns. */
  apply<T>(r: Ref, obj: unknown, o: WriteOptions & { force?: boolean } = {}): Promise<T> {
    return this.ok<T>('PATCH', r, {
      body: obj,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: FIELD_MANAGER, force: o.force ? 'true' : undefined, ...dry(o) },
    });
  }

  /** A JSON merge patch; put metadata.resourceVersion in it to make it fail (409) on a concurrent change. */
  mergePatch<T>(r: Ref, patch: unknown, o: WriteOptions = {}): Promise<T> {
    return this.ok<T>('PATCH', r, {
      body: patch,
      contentType: 'application/merge-patch+json',
      query: { fieldManager: FIELD_MANAGER, ...dry(o) },
    });
  }

  create<T>(r: Ref, body: unknown, o: WriteOptions = {}): Promise<T> {
    return this.ok<T>('POST', r, { body, query: { fieldManager: FIELD_MANAGER, ...dry(o) } });
  }

  delete(r: Ref, o: WriteOptions = {}): Promise<unknown> {
    return this.ok('DELETE', r, { query: dry(o) });
  }
}

function dry(o: WriteOptions): { dryRun?: string } {
  return o.dryRun ? { dryRun: 'All' } : {};
}

export function accessOf(method: Method, r: Ref, verb?: string): Access {
  const a: Access = {
    verb: verb ?? (method === 'GET' && !r.name ? 'list' : VERB[method]),
    group: r.group,
    resource: r.resource,
  };
  if (r.subresource) a.subresource = r.subresource;
  if (r.namespace) a.namespace = r.namespace;
  if (r.name) a.name = r.name;
  return a;
}

/**
 * Re-runs a read-modify-write whose write carried a resourceVersion, when someone else changed
 * the object in between (409 Conflict). Each attempt re-reads, so the change is never lost.
 */
export async function retryOnConflict<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof AppError) || e.code !== 'fleet/conflict' || i >= attempts) throw e;
      await new Promise((r) => setTimeout(r, 50 * i));
    }
  }
}

export const CORE = (resource: string, name?: string, namespace?: string): Ref => ({
  group: '',
  version: 'v1',
  resource,
  ...(name ? { name } : {}),
  ...(namespace ? { namespace } : {}),
});
