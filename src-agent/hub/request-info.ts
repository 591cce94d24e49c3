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

/** Parses `/api/v1/...` and `/apis/<group>/<version>/...` paths; anything else is a non-resource request. */
export function parseRequestInfo(method: string, rawUrl: string): RequestInfo {
  const url = new URL(rawUrl, 'http://hub.local');
  const query = url.searchParams;
  const parts = url.pathname
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
    path: url.pathname,
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
  // /namespaces/<ns>/<resource>... ; a bare /namespaces or /namespaces/<ns> is the namespace object itself.
  if (rest[0] === NAMESPACED_MARK && rest.length >= 3) {
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
    path: url.pathname,
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
