/**
 * How main reaches the API server for streaming calls (logs, exec) with a source's KubeConfig:
 * client-node applies TLS, tokens and exec-plugin credentials to plain request options, so the
 * same users that can view a cluster can stream from it, and the raw response (status and the
 * API server's Status body) stays ours to turn into an honest error.
 */
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { AppError } from '../ipc/errors.ts';

export interface KubeTarget {
  url: URL;
  /** TLS material, Authorization header and agent, as client-node resolved them. */
  options: https.RequestOptions;
}

export async function kubeTarget(kc: KubeConfig, path: string, query: URLSearchParams): Promise<KubeTarget> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new AppError('kube/no-cluster', 'The kubeconfig context has no cluster.');
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  url.search = query.toString();
  const options: https.RequestOptions = {};
  try {
    await kc.applyToHTTPSOptions(options);
  } catch (e) {
    throw new AppError(
      'kube/credentials',
      `Could not get credentials for ${cluster.server}: ${e instanceof Error ? e.message : String(e)}`,
      'Check the kubeconfig user (an exec plugin must be installed and able to log in).',
    );
  }
  return { url, options };
}

/** GET that resolves with the response once headers arrive (any status); the caller reads the body. */
export function kubeGet(target: KubeTarget): Promise<{ res: http.IncomingMessage; req: http.ClientRequest }> {
  const mod = target.url.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const req = mod.get(target.url, { ...target.options, method: 'GET' }, (res) => resolve({ res, req }));
    req.on('error', (e) => reject(apiUnreachable(target.url, e)));
  });
}

export function apiUnreachable(url: URL, e: Error): AppError {
  return new AppError(
    'kube/api-unreachable',
    `Cannot reach the API server at ${url.origin}: ${e.message}`,
    'Check the connection to the cluster (VPN, network) and the server address in the kubeconfig.',
  );
}

/** Reads at most `max` bytes of a body (an error Status is small; anything beyond is not needed). */
export function readSome(res: NodeJS.ReadableStream, max = 64 * 1024): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      if (size < max) chunks.push(c);
      size += c.length;
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8').slice(0, max)));
    res.on('error', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}
