/**
 * The few API calls the demo simulator makes many times (list nodes, patch a label, patch a
 * condition) as plain HTTPS with the demo's admin certificate: a kubectl process per call would
 * cost the 2-core machine far more than the cluster itself.
 */
import { request } from 'node:https';

export interface KubeRestAuth {
  server: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export class KubeRest {
  readonly #auth: KubeRestAuth;

  constructor(auth: KubeRestAuth) {
    this.#auth = auth;
  }

  get<T>(path: string): Promise<T> {
    return this.#call<T>('GET', path);
  }

  /** A JSON merge patch (RFC 7386): `null` removes a key, e.g. a label. */
  mergePatch<T>(path: string, body: unknown): Promise<T> {
    return this.#call<T>('PATCH', path, body, 'application/merge-patch+json');
  }

  /** A strategic merge patch: list items with a merge key (conditions by `type`) are merged, not replaced. */
  strategicPatch<T>(path: string, body: unknown): Promise<T> {
    return this.#call<T>('PATCH', path, body, 'application/strategic-merge-patch+json');
  }

  #call<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const { server, ca, cert, key } = this.#auth;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = request(
        new URL(path, server),
        {
          method,
          ca,
          cert,
          key,
          timeout: 15_000,
          headers: {
            accept: 'application/json',
            ...(payload ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if ((res.statusCode ?? 0) >= 300)
              return reject(new Error(`${method} ${path} answered ${res.statusCode}: ${text.slice(0, 200)}`));
            try {
              resolve(JSON.parse(text) as T);
            } catch (e) {
              reject(new Error(`${method} ${path}: not JSON (${(e as Error).message})`));
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 15 s`)));
      req.on('error', reject);
      req.end(payload);
    });
  }
}
