import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import type { EventSink } from '../ipc/contract.ts';
import type { IpcRouter } from '../ipc/router.ts';
import type { ClusterSnapshot } from '../ipc/types.ts';
import { attachWsIpc } from './ws-ipc.ts';

/**
 * Serves the built renderer to a plain browser on 127.0.0.1 only, behind a random per-run
 * token that the IPC WebSocket requires (ws-ipc.ts). Used where Electron's binary is absent and
 * by the Playwright tests in Debian's Chromium.
 */
export interface BrowserHost {
  url: string;
  token: string;
  close(): Promise<void>;
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};

export interface BrowserHostOptions {
  rendererDir: string;
  port?: number;
  /** The app's IPC; without it only the static UI is served (the shell test). */
  ipc?: {
    router: IpcRouter;
    subscribe: (sink: EventSink) => () => void;
    snapshotFor?: (clusterId: string) => ClusterSnapshot | undefined | Promise<ClusterSnapshot | undefined>;
  };
  /** Bytes queued on one socket past which its cluster diffs are coalesced (ws-ipc.ts). */
  lagBytes?: number;
  log?: (line: string) => void;
}

/** The same policy as the Electron window: our own scripts only, IPC only to this host. */
export function contentSecurityPolicy(authority: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    `connect-src ws://${authority}`,
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export async function startBrowserHost(opts: BrowserHostOptions): Promise<BrowserHost> {
  const token = randomBytes(24).toString('base64url');
  let authority = '';
  const root = normalize(opts.rendererDir);
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const rel = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname.slice(1));
    const file = normalize(join(root, rel));
    if (!file.startsWith(root + sep)) {
      res.writeHead(403).end('forbidden');
      return;
    }
    try {
      const st = await stat(file);
      if (!st.isFile()) throw new Error('not a file');
      res.writeHead(200, {
        'Content-Type': contentTypes[extname(file)] ?? 'application/octet-stream',
        'X-Content-Type-Options': 'nosniff',
        'Content-Security-Policy': contentSecurityPolicy(authority),
        'Referrer-Policy': 'no-referrer',
        'Cache-Control': 'no-store',
      });
      createReadStream(file).pipe(res);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('browser host did not get a TCP port');
  authority = `127.0.0.1:${address.port}`;
  const ws = opts.ipc
    ? attachWsIpc({
        server,
        token,
        authority: () => authority,
        ...opts.ipc,
        ...(opts.lagBytes ? { lagBytes: opts.lagBytes } : {}),
        ...(opts.log ? { log: opts.log } : {}),
      })
    : null;
  return {
    url: `http://${authority}/#token=${token}`,
    token,
    close: async () => {
      await ws?.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
