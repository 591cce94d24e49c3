/**
 * A small Kubernetes REST client on Node built-ins only, so the agent bundle stays self-contained.
 * It covers what our roles need: connection config from a kubeconfig or the pod's service account,
 * get/list (paginated)/watch (with bookmarks)/create/update/patch/delete, the status subresource and
 * optimistic-concurrency retries.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  generateName?: string;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

/** Where a resource lives in the REST tree. group '' is the core group (/api/v1). */
export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export const RESOURCES = {
  nodes: { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false },
  pods: { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true },
  events: { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true },
  deployments: { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true },
  statefulsets: {
    group: 'apps',
    version: 'v1',
    plural: 'statefulsets',
    kind: 'StatefulSet',
    namespaced: true,
  },
  leases: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true },
  certificatesigningrequests: {
    group: 'certificates.k8s.io',
    version: 'v1',
    plural: 'certificatesigningrequests',
    kind: 'CertificateSigningRequest',
    namespaced: false,
  },
} as const satisfies Record<string, ResourceRef>;

export type PatchType = 'merge' | 'strategic' | 'json';
const PATCH_CONTENT_TYPE: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
};

/** Resolved connection settings: everything needed to open a TLS connection and authenticate. */
export interface KubeConnection {
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
  /** Re-read on every request: projected service-account tokens rotate. */
  tokenFile?: string;
  insecureSkipTlsVerify?: boolean;
}

/** A failed API call; `status` is the HTTP status (0 for transport errors). */
export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly method: string;
  readonly path: string;
  readonly hint: string;
  constructor(method: string, path: string, status: number, reason: string, message: string, hint = '') {
    super(`${method} ${path}: ${status || 'transport'} ${reason}: ${message}${hint ? ` (${hint})` : ''}`);
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
    this.method = method;
    this.path = path;
    this.hint = hint;
  }
}

export class KubeConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeConfigError';
  }
}

export const isNotFound = (e: unknown) => e instanceof KubeApiError && e.status === 404;
export const isConflict = (e: unknown) => e instanceof KubeApiError && e.status === 409;
export const isGone = (e: unknown) => e instanceof KubeApiError && e.status === 410;

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The pod's own service account, as client-go's InClusterConfig does it. */
export function inClusterConnection(env: NodeJS.ProcessEnv = process.env, saDir = SA_DIR): KubeConnection {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new KubeConfigError(
      'not running in a cluster: KUBERNETES_SERVICE_HOST/PORT unset (pass --kubeconfig <file>)',
    );
  }
  const h = host.includes(':') ? `[${host}]` : host;
  try {
    return {
      server: `https://${h}:${port}`,
      ca: readFileSync(`${saDir}/ca.crt`),
      tokenFile: `${saDir}/token`,
    };
  } catch (e) {
    throw new KubeConfigError(`cannot read service account from ${saDir}: ${(e as Error).message}`);
  }
}

interface KubeconfigFile {
  'current-context'?: string;
  clusters?: { name: string; cluster: Record<string, unknown> }[];
  users?: { name: string; user: Record<string, unknown> }[];
  contexts?: { name: string; context: { cluster: string; user: string; namespace?: string } }[];
}

/** Loads a kubeconfig file (JSON or the YAML kubectl writes) and resolves one context. */
export function kubeconfigConnection(path: string, context?: string): KubeConnection {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new KubeConfigError(`cannot read kubeconfig ${path}: ${(e as Error).message}`);
  }
  const doc = (text.trimStart().startsWith('{') ? JSON.parse(text) : parseSimpleYaml(text)) as KubeconfigFile;
  const ctxName = context ?? doc['current-context'];
  const ctx = doc.contexts?.find((c) => c.name === ctxName)?.context;
  if (!ctx) throw new KubeConfigError(`kubeconfig ${path}: context "${ctxName ?? ''}" not found`);
  const cluster = doc.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  if (!cluster) throw new KubeConfigError(`kubeconfig ${path}: cluster "${ctx.cluster}" not found`);
  const user = doc.users?.find((u) => u.name === ctx.user)?.user ?? {};
  const dataOrFile = (o: Record<string, unknown>, data: string, file: string): Buffer | undefined => {
    if (typeof o[data] === 'string') return Buffer.from(o[data] as string, 'base64');
    if (typeof o[file] === 'string') return readFileSync(o[file] as string);
    return undefined;
  };
  const conn: KubeConnection = { server: String(cluster.server ?? '') };
  if (!conn.server) throw new KubeConfigError(`kubeconfig ${path}: cluster "${ctx.cluster}" has no server`);
  const ca = dataOrFile(cluster, 'certificate-authority-data', 'certificate-authority');
  if (ca) conn.ca = ca;
  if (cluster['insecure-skip-tls-verify'] === true) conn.insecureSkipTlsVerify = true;
  const cert = dataOrFile(user, 'client-certificate-data', 'client-certificate');
  const key = dataOrFile(user, 'client-key-data', 'client-key');
  if (cert) conn.cert = cert;
  if (key) conn.key = key;
  if (typeof user.token === 'string') conn.token = user.token;
  if (typeof user.tokenFile === 'string') conn.tokenFile = user.tokenFile;
  return conn;
}

/**
 * Parses the block-style YAML subset kubeconfigs use (maps, "- " lists, plain and quoted scalars).
 * Not a general YAML parser: anchors, flow collections and multi-line scalars are not supported.
 */
export function parseSimpleYaml(text: string): unknown {
  const lines = text
    .split('\n')
    .map((raw) => raw.replace(/\r$/, ''))
    .filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#') && l.trim() !== '---');
  let i = 0;
  const indentOf = (l: string) => l.length - l.trimStart().length;
  const scalar = (s: string): unknown => {
    const t = s.trim();
    if (t.startsWith('"')) return JSON.parse(t);
    if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
    if (t === 'true') return true;
    if (t === 'false') return false;
    if (t === 'null' || t === '~' || t === '') return null;
    if (t === '{}') return {};
    if (t === '[]') return [];
    if (/^-?\d+$/.test(t)) return Number(t);
    return t;
  };
  const splitKey = (s: string): [string, string] | undefined => {
    const m = /^("[^"]*"|'[^']*'|[^:]+?):(\s+(.*))?$/.exec(s);
    if (!m) return undefined;
    const k = m[1] as string;
    return [k.startsWith('"') || k.startsWith("'") ? k.slice(1, -1) : k, m[3] ?? ''];
  };
  const block = (indent: number): unknown => {
    const first = lines[i];
    if (first === undefined) return null;
    if (first.trimStart().startsWith('- ') || first.trim() === '-') {
      const arr: unknown[] = [];
      while (
        i < lines.length &&
        indentOf(lines[i] as string) === indent &&
        (lines[i] as string).trimStart().startsWith('-')
      ) {
        const rest = (lines[i] as string).trimStart().slice(1);
        const itemIndent = indent + 1 + (rest.length - rest.trimStart().length);
        if (rest.trim() === '') {
          i++;
          arr.push(
            i < lines.length && indentOf(lines[i] as string) > indent
              ? block(indentOf(lines[i] as string))
              : null,
          );
        } else if (splitKey(rest.trim())) {
          // "- key: value" starts a map whose keys sit at the item's indent.
          lines[i] = ' '.repeat(itemIndent) + rest.trimStart();
          arr.push(block(itemIndent));
        } else {
          arr.push(scalar(rest));
          i++;
        }
      }
      return arr;
    }
    const obj: Record<string, unknown> = {};
    while (i < lines.length && indentOf(lines[i] as string) === indent) {
      const kv = splitKey((lines[i] as string).trim());
      if (!kv) throw new KubeConfigError(`unsupported YAML line: ${(lines[i] as string).trim()}`);
      i++;
      const [k, v] = kv;
      if (v.trim() !== '') obj[k] = scalar(v);
      else if (i < lines.length && indentOf(lines[i] as string) > indent)
        obj[k] = block(indentOf(lines[i] as string));
      else if (
        i < lines.length &&
        indentOf(lines[i] as string) === indent &&
        (lines[i] as string).trimStart().startsWith('- ')
      )
        obj[k] = block(indent);
      else obj[k] = null;
    }
    return obj;
  };
  return block(lines[0] ? indentOf(lines[0]) : 0);
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size; the client follows `continue` tokens until the list is complete. */
  limit?: number;
}

export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface WatchOptions extends ListOptions {
  resourceVersion: string;
  timeoutSeconds?: number;
  signal?: AbortSignal;
}

interface RequestOptions {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
}

export class KubeClient {
  readonly conn: KubeConnection;
  readonly userAgent: string;
  private readonly agent: http.Agent;

  constructor(conn: KubeConnection, userAgent = 'edgefleet-agent') {
    this.conn = conn;
    this.userAgent = userAgent;
    const tls = conn.server.startsWith('https:');
    this.agent = tls
      ? new https.Agent({
          keepAlive: true,
          maxSockets: 32,
          ca: conn.ca,
          cert: conn.cert,
          key: conn.key,
          rejectUnauthorized: !conn.insecureSkipTlsVerify,
        })
      : new http.Agent({ keepAlive: true, maxSockets: 32 });
  }

  /** --kubeconfig wins; else $KUBECONFIG; else the pod's service account. */
  static fromFlags(kubeconfig?: string, context?: string, userAgent?: string): KubeClient {
    const path = kubeconfig ?? process.env.KUBECONFIG;
    return new KubeClient(path ? kubeconfigConnection(path, context) : inClusterConnection(), userAgent);
  }

  close(): void {
    this.agent.destroy();
  }

  static path(res: ResourceRef, namespace?: string, name?: string, subresource?: string): string {
    let p = res.group === '' ? `/api/${res.version}` : `/apis/${res.group}/${res.version}`;
    if (res.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
    p += `/${res.plural}`;
    if (name !== undefined) p += `/${encodeURIComponent(name)}`;
    if (subresource) p += `/${subresource}`;
    return p;
  }

  private headers(contentType?: string, bodyLen?: number): http.OutgoingHttpHeaders {
    const h: http.OutgoingHttpHeaders = { accept: 'application/json', 'user-agent': this.userAgent };
    let token = this.conn.token;
    if (this.conn.tokenFile) token = readFileSync(this.conn.tokenFile, 'utf8').trim();
    if (token) h.authorization = `Bearer ${token}`;
    if (contentType) h['content-type'] = contentType;
    if (bodyLen !== undefined) h['content-length'] = bodyLen;
    return h;
  }

  private open(method: string, path: string, opts: RequestOptions, signal?: AbortSignal) {
    const url = new URL(path, this.conn.server);
    for (const [k, v] of Object.entries(opts.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const body = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const mod = url.protocol === 'https:' ? https : http;
    const fullPath = url.pathname + url.search;
    return new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = mod.request(url, {
        method,
        agent: this.agent,
        headers: this.headers(body ? (opts.contentType ?? 'application/json') : undefined, body?.length),
        signal,
      });
      req.on('response', resolve);
      req.on('error', (e) =>
        reject(
          new KubeApiError(
            method,
            fullPath,
            0,
            'TransportError',
            e.message,
            `is ${this.conn.server} reachable?`,
          ),
        ),
      );
      req.end(body);
    });
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.open(method, path, opts);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return (text ? JSON.parse(text) : undefined) as T;
    throw statusError(method, path, status, text);
  }

  get<T extends KubeObject>(res: ResourceRef, name: string, namespace?: string): Promise<T> {
    return this.request<T>('GET', KubeClient.path(res, namespace, name));
  }

  async getOrUndefined<T extends KubeObject>(res: ResourceRef, name: string, namespace?: string) {
    try {
      return await this.get<T>(res, name, namespace);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async list<T extends KubeObject>(res: ResourceRef, opts: ListOptions = {}): Promise<ListResult<T>> {
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.request<{
        items: T[];
        metadata: { resourceVersion: string; continue?: string };
      }>('GET', KubeClient.path(res, opts.namespace), {
        query: {
          labelSelector: opts.labelSelector,
          fieldSelector: opts.fieldSelector,
          limit: opts.limit ?? 500,
          continue: cont,
        },
      });
      items.push(...(page.items ?? []));
      resourceVersion = page.metadata.resourceVersion;
      cont = page.metadata.continue || undefined;
    } while (cont);
    return { items, resourceVersion };
  }

  /**
   * Streams watch events until the server closes the stream (normal, after timeoutSeconds) or the
   * signal aborts. Rejects with a KubeApiError status 410 when the resourceVersion is too old: the
   * caller must re-list.
   */
  async watch<T extends KubeObject>(
    res: ResourceRef,
    opts: WatchOptions,
    onEvent: (ev: WatchEvent<T>) => void,
  ): Promise<void> {
    const path = KubeClient.path(res, opts.namespace);
    let resp: http.IncomingMessage;
    try {
      resp = await this.open(
        'GET',
        path,
        {
          query: {
            watch: 1,
            resourceVersion: opts.resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds: opts.timeoutSeconds ?? 300,
            labelSelector: opts.labelSelector,
            fieldSelector: opts.fieldSelector,
          },
        },
        opts.signal,
      );
    } catch (e) {
      if (opts.signal?.aborted) return;
      throw e;
    }
    const status = resp.statusCode ?? 0;
    if (status !== 200) {
      const chunks: Buffer[] = [];
      for await (const c of resp) chunks.push(c as Buffer);
      throw statusError('WATCH', path, status, Buffer.concat(chunks).toString('utf8'));
    }
    let buf = '';
    try {
      for await (const chunk of resp) {
        buf += (chunk as Buffer).toString('utf8');
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          nl = buf.indexOf('\n');
          if (!line) continue;
          const ev = JSON.parse(line) as WatchEvent<T>;
          if (ev.type === 'ERROR') {
            const st = ev.object as unknown as { code?: number; reason?: string; message?: string };
            resp.destroy();
            throw new KubeApiError('WATCH', path, st.code ?? 500, st.reason ?? 'Error', st.message ?? '');
          }
          onEvent(ev);
        }
      }
    } catch (e) {
      if (opts.signal?.aborted) return;
      if (e instanceof KubeApiError) throw e;
      throw new KubeApiError('WATCH', path, 0, 'StreamError', (e as Error).message);
    }
  }

  create<T extends KubeObject>(res: ResourceRef, obj: T, namespace?: string): Promise<T> {
    return this.request<T>('POST', KubeClient.path(res, namespace ?? obj.metadata.namespace), { body: obj });
  }

  update<T extends KubeObject>(res: ResourceRef, obj: T, subresource?: string): Promise<T> {
    return this.request<T>(
      'PUT',
      KubeClient.path(res, obj.metadata.namespace, obj.metadata.name, subresource),
      {
        body: obj,
      },
    );
  }

  updateStatus<T extends KubeObject>(res: ResourceRef, obj: T): Promise<T> {
    return this.update(res, obj, 'status');
  }

  patch<T extends KubeObject>(
    res: ResourceRef,
    name: string,
    patch: unknown,
    opts: { type?: PatchType; namespace?: string; subresource?: string } = {},
  ): Promise<T> {
    const type = opts.type ?? 'merge';
    return this.request<T>('PATCH', KubeClient.path(res, opts.namespace, name, opts.subresource), {
      body: patch,
      contentType: PATCH_CONTENT_TYPE[type],
    });
  }

  async delete(
    res: ResourceRef,
    name: string,
    namespace?: string,
    propagationPolicy: 'Background' | 'Foreground' | 'Orphan' = 'Background',
  ): Promise<void> {
    await this.request('DELETE', KubeClient.path(res, namespace, name), {
      body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy },
    });
  }
}

function statusError(method: string, path: string, status: number, text: string): KubeApiError {
  let reason = '';
  let message = text.slice(0, 500);
  try {
    const st = JSON.parse(text) as { reason?: string; message?: string };
    reason = st.reason ?? '';
    message = st.message ?? message;
  } catch {
    // Not a Status object (e.g. a proxy's HTML page); keep the raw text.
  }
  const hint =
    status === 401
      ? 'credentials rejected: check the kubeconfig or service account token'
      : status === 403
        ? 'RBAC denies this: check the ClusterRole in resources/manifests'
        : status === 409
          ? 'conflict: re-read and retry'
          : '';
  return new KubeApiError(method, path, status, reason || `HTTP ${status}`, message, hint);
}

/**
 * Runs fn (which must re-read what it modifies) again when the API reports a write conflict.
 * A small jittered backoff keeps two writers from colliding in lockstep.
 */
export async function retryOnConflict<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (!isConflict(e) || i >= attempts) throw e;
      await new Promise((r) => setTimeout(r, 10 * 2 ** i + Math.random() * 10));
    }
  }
}

export { objectKey, splitKey } from './object-key.ts';
