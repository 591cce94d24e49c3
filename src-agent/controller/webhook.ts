/**
 * The controller's mutating admission webhook (HTTPS, as the API server requires). It serves
 * /mutate-endpointslice and /mutate-endpoints (see autonomy/endpoints.ts). Every replica serves it,
 * leader or not, because the API server calls whichever one its Service picks; it answers from a
 * Node cache of its own and fetches pods only for endpoints on autonomous, cut-off nodes.
 *
 * It never denies: errors allow the object unchanged (the configuration uses failurePolicy Ignore
 * too), so a broken webhook costs autonomy of endpoints, never the cluster's ability to write them.
 */
import { readFileSync, statSync } from 'node:fs';
import https from 'node:https';
import { type KubeClient, RESOURCES } from '../api/kube-client.ts';
import {
  type EndpointSlice,
  type Endpoints,
  type JsonPatchOp,
  type Lookups,
  planEndpointSlice,
  planEndpoints,
} from './autonomy/endpoints.ts';
import { parseAddr } from './http-server.ts';
import type { Informer } from './informer.ts';
import type { Node, Pod } from './kube-types.ts';
import type { Metrics } from './metrics.ts';
import type { Log } from './runner.ts';

export const WEBHOOK_PATH_ENDPOINTSLICE = '/mutate-endpointslice';
export const WEBHOOK_PATH_ENDPOINTS = '/mutate-endpoints';
/** Request bodies above this are refused: an EndpointSlice holds at most 1000 endpoints. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;
/** How often the serving certificate files are checked for rotation (mounted Secrets change in place). */
const CERT_RELOAD_MS = 30_000;

export interface AdmissionRequest {
  uid: string;
  kind?: { group?: string; version?: string; kind?: string };
  operation?: string;
  namespace?: string;
  object?: unknown;
}

export interface AdmissionReview {
  apiVersion: string;
  kind: 'AdmissionReview';
  request?: AdmissionRequest;
  response?: { uid: string; allowed: boolean; patchType?: 'JSONPatch'; patch?: string; warnings?: string[] };
}

export class WebhookCertError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookCertError';
  }
}

function readPair(certFile: string, keyFile: string): { cert: Buffer; key: Buffer } {
  try {
    return { cert: readFileSync(certFile), key: readFileSync(keyFile) };
  } catch (e) {
    throw new WebhookCertError(
      `cannot read webhook serving certificate (${certFile}, ${keyFile}): ${(e as Error).message} ` +
        '(pass --webhook-cert-file/--webhook-key-file, e.g. a mounted kubernetes.io/tls Secret)',
    );
  }
}

/** Builds the AdmissionReview answer; an empty patch allows the object as it is. */
export function admissionResponse(uid: string, ops: JsonPatchOp[]): AdmissionReview {
  const response: NonNullable<AdmissionReview['response']> = { uid, allowed: true };
  if (ops.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(ops)).toString('base64');
  }
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}

export interface WebhookOptions {
  addr: string;
  certFile: string;
  keyFile: string;
  client: KubeClient;
  nodes: Informer<Node>;
  metrics: Metrics;
  log: Log;
}

export async function startWebhookServer(opts: WebhookOptions): Promise<https.Server> {
  const { host, port } = parseAddr(opts.addr);
  const { client, nodes, metrics, log } = opts;
  let nodesSynced = false;
  void nodes.synced.then(() => {
    nodesSynced = true;
  });
  const lookups: Lookups = {
    node: (name) => nodes.get(name),
    pod: (namespace, name) => client.getOrUndefined<Pod>(RESOURCES.pods, name, namespace),
  };

  async function review(path: string, body: AdmissionReview): Promise<AdmissionReview> {
    const req = body.request;
    if (!req?.uid) throw new Error('AdmissionReview without request.uid');
    // Before the Node cache is complete every node looks unknown: allow unchanged rather than guess.
    if (!nodesSynced || !req.object) return admissionResponse(req.uid, []);
    const ops =
      path === WEBHOOK_PATH_ENDPOINTSLICE
        ? await planEndpointSlice(req.object as EndpointSlice, lookups)
        : await planEndpoints(req.object as Endpoints, lookups);
    const resource = path === WEBHOOK_PATH_ENDPOINTSLICE ? 'endpointslices' : 'endpoints';
    if (ops.length > 0) {
      metrics.webhookKeptReady.inc({ resource });
    }
    return admissionResponse(req.uid, ops);
  }

  let { cert, key } = readPair(opts.certFile, opts.keyFile);
  const server = https.createServer({ cert, key, minVersion: 'TLSv1.2' }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    if (req.method === 'GET' && path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (req.method !== 'POST' || (path !== WEBHOOK_PATH_ENDPOINTSLICE && path !== WEBHOOK_PATH_ENDPOINTS)) {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) req.destroy(new Error(`request body over ${MAX_BODY_BYTES} bytes`));
      else chunks.push(c);
    });
    req.on('error', (e) => log.error(`webhook ${path}: ${e.message}`));
    req.on('end', () => {
      let body: AdmissionReview;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AdmissionReview;
      } catch (e) {
        res
          .writeHead(400, { 'content-type': 'text/plain' })
          .end(`invalid AdmissionReview JSON: ${(e as Error).message}\n`);
        return;
      }
      const start = performance.now();
      review(path, body)
        .catch((e: unknown) => {
          // Allow unchanged: the endpoint controllers' own view stands, the cluster keeps working.
          log.error(`webhook ${path}: ${(e as Error).message}; allowing unchanged`);
          metrics.webhookErrors.inc();
          return admissionResponse(body.request?.uid ?? '', []);
        })
        .then((out) => {
          metrics.webhookDuration.observe(
            { resource: path === WEBHOOK_PATH_ENDPOINTSLICE ? 'endpointslices' : 'endpoints' },
            (performance.now() - start) / 1000,
          );
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
        });
    });
  });

  // Rotated certificates (a renewed Secret) are picked up without a restart.
  let mtime = statSync(opts.certFile).mtimeMs;
  const reload = setInterval(() => {
    try {
      const m = statSync(opts.certFile).mtimeMs;
      if (m === mtime) return;
      ({ cert, key } = readPair(opts.certFile, opts.keyFile));
      server.setSecureContext({ cert, key });
      mtime = m;
      log.info('webhook: reloaded serving certificate');
    } catch (e) {
      log.error(`webhook: keeping the current certificate: ${(e as Error).message}`);
    }
  }, CERT_RELOAD_MS);
  reload.unref();
  server.on('close', () => clearInterval(reload));

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`webhook: cannot listen on ${opts.addr}: ${e.message}`)));
    server.listen(port, host, resolve);
  });
  return server;
}
