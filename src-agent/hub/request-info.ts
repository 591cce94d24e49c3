import type { IncomingMessage } from 'node:http';
import type { ResourceKey } from './storage.ts';

/** What a Kubernetes API request is about, parsed from its method and path (as the apiserver does). */
export interface RequestInfo {
  /** get | list | watch | create | update | patch | delete | deletecollection | proxy | connect | '' for non-resource. */
  verb: string;
  isResource: boolean;
  resource: ResourceKey;
  namespace: string;
  name: string;
  subresource: string;
  query: URLSearchParams;
  path: string;
}

const NAMESPACED_MARK = 'namespaces';
/** `/namespaces/<ns>/status` and `/finalize` are subresources of the namespace, not resources in it (as in the apiserver). */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

/**
 * The path and query of a request target, taken as sent: no dot-segment resolution (a WHATWG URL
 * turns `/namespaces/%2e%2e/pods` into `/pods`, a cluster-wide list, while the apiserver reads a
 * namespace ".."), and a leading `//` is a path, not an authority. Absolute-form targets lose
 * their scheme and host.
 */
function splitTarget(rawUrl: string): { path: string; query: URLSearchParams } {
  const target = rawUrl.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/, '');
  const hash = target.indexOf('#');
  const noHash = hash < 0 ? target : target.slice(0, hash);
  const q = noHash.indexOf('?');
  return q < 0
    ? { path: noHash, query: new URLSearchParams() }
    : { path: noHash.slice(0, q), query: new URLSearchParams(noHash.slice(q + 1)) };
}

/**
 * Parses `/api/v1/...` and `/apis/<group>/<version>/...` paths; anything else is a non-resource request.
 * Throws URIError for a malformed percent-escape (the hub answers 400).
 */
export function parseRequestInfo(method: string, rawUrl: string): RequestInfo {
  const { path, query } = splitTarget(rawUrl);
  const parts = path
    .split('/')
    .filter((p) => p !== '')
    .map(decodeURIComponent);
  const none: RequestInfo = {
    verb: method.toLowerCase(),
    isResource: false,
    resource: { resource: '', version: '', group: '' },
    namespace: '',
    name: '',
    subresource: '',
    query,
    path,
  };
  let rest: string[];
  let group = '';
  let version: string;
  if (parts[0] === 'api' && parts.length >= 2) {
    version = parts[1] ?? '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1] ?? '';
    version = parts[2] ?? '';
    rest = parts.slice(3);
  } else {
    return none;
  }
  if (rest.length === 0) return none;
  let namespace = '';
  // /namespaces/<ns>/<resource>... ; a bare /namespaces, /namespaces/<ns> or /namespaces/<ns>/status is the
  // namespace object itself (cluster-scoped, so cached with an empty namespace).
  if (rest[0] === NAMESPACED_MARK && rest.length >= 3 && !NAMESPACE_SUBRESOURCES.has(rest[2] as string)) {
    namespace = rest[1] ?? '';
    rest = rest.slice(2);
  }
  const resource = rest[0] ?? '';
  const name = rest[1] ?? '';
  const subresource = rest.slice(2).join('/');
  const m = method.toUpperCase();
  let verb: string;
  const watchParam = query.get('watch');
  const isWatch = watchParam === 'true' || watchParam === '1';
  switch (m) {
    case 'GET':
    case 'HEAD':
      verb = name === '' ? (isWatch ? 'watch' : 'list') : isWatch ? 'watch' : 'get';
      break;
    case 'POST':
      verb = 'create';
      break;
    case 'PUT':
      verb = 'update';
      break;
    case 'PATCH':
      verb = 'patch';
      break;
    case 'DELETE':
      verb = name === '' ? 'deletecollection' : 'delete';
      break;
    default:
      verb = m.toLowerCase();
  }
  if (
    subresource === 'exec' ||
    subresource === 'attach' ||
    subresource === 'portforward' ||
    subresource === 'proxy'
  ) {
    verb = subresource === 'proxy' ? 'proxy' : 'connect';
  }
  return {
    verb,
    isResource: true,
    resource: { resource, version, group },
    namespace,
    name,
    subresource,
    query,
    path,
  };
}

/**
 * The component a request comes from: the User-Agent's first word before '/' (kubelet/v1.36 … → kubelet),
 * as yurthub keys its cache.
 */
export function componentOf(req: IncomingMessage): string {
  const ua = req.headers['user-agent'] ?? '';
  const first = ua.split('/')[0]?.trim() ?? '';
  return first === '' ? 'unknown' : first.replace(/[^A-Za-z0-9._-]/g, '_');
}
