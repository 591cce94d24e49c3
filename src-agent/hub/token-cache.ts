import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { sendJson, sendStatus } from './k8s-status.ts';
import type { Logger } from './log.ts';
import type { RequestInfo } from './request-info.ts';
import type { ObjectKey, ResourceKey, Storage } from './storage.ts';
import type { Upstream } from './upstream.ts';

/** Hub-private cache area (never garbage-collected against the cloud), encrypted like every cache file. */
const COMPONENT = '_hub';
const TOKENS: ResourceKey = { resource: 'tokenrequests', version: 'v1', group: 'authentication.k8s.io' };
/** A token this close to expiry is not handed out: the pod could not use it for anything. */
const MIN_VALIDITY_MS = 30_000;
const TOKEN_REQUEST_TIMEOUT_MS = 10_000;

/** `POST /api/v1/namespaces/<ns>/serviceaccounts/<sa>/token` — how kubelet mints projected tokens. */
export function isTokenRequest(info: RequestInfo): boolean {
  return (
    info.verb === 'create' &&
    info.resource.resource === 'serviceaccounts' &&
    info.resource.group === '' &&
    info.subresource === 'token' &&
    info.namespace !== '' &&
    info.name !== ''
  );
}

/** A TokenRequest as the hub keeps it: the API server's answer, keyed by the exact request. */
interface StoredToken {
  metadata: { name: string; namespace: string };
  serviceAccount: string;
  expiresAt: string;
  response: unknown;
}

export interface TokenRequestBody {
  body: Buffer;
  contentType: string;
}

/**
 * Service-account tokens for the node's pods, remembered so a pod can start again after an offline
 * reboot. kubelet asks for each pod's projected token with a TokenRequest (a create, which offline
 * would have to be refused). Online, the hub passes the request to the cloud and keeps the answer on
 * disk, encrypted; offline, the same request gets the same answer while the token is still valid.
 *
 * Why handing the token out again is safe: the key is the whole request — namespace, service account
 * and the exact body bytes (audiences, expiration, the pod the token is bound to, by name and UID) — so
 * a token is only ever returned for the request it was issued for, to the same local client (kubelet,
 * authenticating as this node) that received it the first time. It carries no new privilege: it is
 * bound to that pod, expires when the API server said, and is never served past its expiry. A pool
 * whose policy forbids Secrets on disk gets no tokens cached either.
 */
export class TokenCache {
  private readonly storage: Storage;
  private readonly upstream: Upstream;
  private readonly log: Logger;
  private readonly allowed: () => boolean;
  private readonly now: () => number;
  /** Tokens answered from disk while the cloud was unreachable. */
  servedOffline = 0;
  /** TokenRequest answers stored. */
  stored = 0;

  constructor(
    storage: Storage,
    upstream: Upstream,
    log: Logger,
    allowed: () => boolean = () => true,
    now: () => number = Date.now,
  ) {
    this.storage = storage;
    this.upstream = upstream;
    this.log = log;
    this.allowed = allowed;
    this.now = now;
  }

  /** Answers a TokenRequest: from the cloud when it is reachable (remembering the token), else from disk. */
  async serve(
    res: ServerResponse,
    info: RequestInfo,
    req: TokenRequestBody,
    cloudHealthy: boolean,
  ): Promise<'cloud' | 'cache'> {
    let why = 'node Lease renewal failing';
    if (cloudHealthy) {
      try {
        const r = await this.upstream.jsonRaw(
          'POST',
          pathWithQuery(info),
          req.body,
          req.contentType,
          TOKEN_REQUEST_TIMEOUT_MS,
        );
        if (r.status === 201 || r.status === 200) await this.remember(info, req, r.body);
        if (typeof r.body === 'string') {
          res.writeHead(r.status, { 'content-type': 'text/plain' }).end(r.body);
        } else sendJson(res, r.status, r.body);
        return 'cloud';
      } catch (err) {
        why = (err as Error).message;
      }
    }
    const cached = await this.lookup(info, req);
    if (cached !== undefined) {
      this.servedOffline++;
      sendJson(res, 201, cached);
      return 'cache';
    }
    sendStatus(
      res,
      503,
      'ServiceUnavailable',
      `the cloud is unreachable (${why}) and no valid token for serviceaccount ${info.namespace}/${info.name} with this request was cached while online`,
    );
    return 'cache';
  }

  /** Removes every cached token (a pool policy forbidding credentials on disk). */
  async purge(): Promise<number> {
    const keys = await this.storage.listKeys(COMPONENT, TOKENS).catch(() => []);
    for (const k of keys) await this.storage.delete(k);
    return keys.length;
  }

  private key(info: RequestInfo, req: TokenRequestBody): ObjectKey {
    const h = createHash('sha256')
      .update(pathWithQuery(info))
      .update('\n')
      .update(req.contentType)
      .update('\n')
      .update(req.body)
      .digest('hex')
      .slice(0, 32);
    return { component: COMPONENT, resource: TOKENS, namespace: info.namespace, name: `${info.name}.${h}` };
  }

  private async remember(info: RequestInfo, req: TokenRequestBody, response: unknown): Promise<void> {
    if (!this.allowed()) return;
    const exp = expiryOf(response);
    if (exp === undefined) {
      this.log.warn('token_cache.no_expiry', { serviceAccount: `${info.namespace}/${info.name}` });
      return;
    }
    const k = this.key(info, req);
    const stored: StoredToken = {
      metadata: { name: k.name, namespace: k.namespace },
      serviceAccount: info.name,
      expiresAt: new Date(exp).toISOString(),
      response,
    };
    try {
      if (await this.storage.put(k, stored)) this.stored++;
      await this.pruneExpired(info.namespace);
    } catch (err) {
      // The token still reaches kubelet; only the offline copy is missing.
      this.log.warn('token_cache.store_failed', { key: k.name, error: (err as Error).message });
    }
  }

  private async lookup(info: RequestInfo, req: TokenRequestBody): Promise<unknown | undefined> {
    if (!this.allowed()) return undefined;
    const stored = (await this.storage.get(this.key(info, req))) as StoredToken | undefined;
    if (!stored) return undefined;
    if (Date.parse(stored.expiresAt) - this.now() < MIN_VALIDITY_MS) return undefined;
    return stored.response;
  }

  private async pruneExpired(namespace: string): Promise<void> {
    const all = (await this.storage.list(COMPONENT, TOKENS, namespace)) as StoredToken[];
    for (const t of all) {
      if (Date.parse(t.expiresAt) > this.now()) continue;
      await this.storage.delete({ component: COMPONENT, resource: TOKENS, namespace, name: t.metadata.name });
    }
  }
}

/** `status.expirationTimestamp` of a TokenRequest answer, in ms since the epoch. */
function expiryOf(response: unknown): number | undefined {
  const ts = (response as { status?: { expirationTimestamp?: unknown } } | undefined)?.status
    ?.expirationTimestamp;
  if (typeof ts !== 'string') return undefined;
  const ms = Date.parse(ts);
  return Number.isNaN(ms) ? undefined : ms;
}

function pathWithQuery(info: RequestInfo): string {
  const q = info.query.toString();
  return q ? `${info.path}?${q}` : info.path;
}
