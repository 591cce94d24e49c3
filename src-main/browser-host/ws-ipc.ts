/**
 * The IPC contract over a WebSocket, for the renderer running in a plain browser. Every socket
 * must prove it was opened by the page we served: right Host (no DNS rebinding), right Origin
 * (no other site in the same browser), and the per-run token (no other local user or process).
 * After that, every request goes through the router, which validates input per channel.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { EventSink } from '../ipc/contract.ts';
import { fail } from '../ipc/errors.ts';
import type { IpcRouter } from '../ipc/router.ts';
import type { ClusterSnapshot } from '../ipc/types.ts';
import {
  WS_MAX_MESSAGE_BYTES,
  WS_PATH,
  WS_PROTOCOL,
  WS_TOKEN_PREFIX,
  type WsRequest,
  type WsServerMessage,
} from '../ipc/ws-protocol.ts';

export interface WsIpcOptions {
  server: Server;
  token: string;
  /** `127.0.0.1:<port>`: the only Host and Origin authority accepted. */
  authority: () => string;
  router: IpcRouter;
  subscribe: (sink: EventSink) => () => void;
  /**
   * A fresh snapshot of a live cluster, sent instead of the diffs a slow page could not take:
   * past `lagBytes` queued on a socket its cluster diffs are dropped (coalesced), and once the
   * queue drains it gets one snapshot per lagging cluster, so memory stays bounded.
   */
  snapshotFor?: (clusterId: string) => ClusterSnapshot | undefined | Promise<ClusterSnapshot | undefined>;
  lagBytes?: number;
  log?: (line: string) => void;
}

/** Compares digests so neither the length nor the content of the token leaks through timing. */
export function tokenMatches(offered: string, expected: string): boolean {
  const a = createHash('sha256').update(offered).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function offeredProtocols(req: IncomingMessage): string[] {
  const header = req.headers['sec-websocket-protocol'];
  return (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

/** Why an upgrade is refused, or null when it may proceed. */
export function refusal(req: IncomingMessage, token: string, authority: string): string | null {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  if (url.pathname !== WS_PATH) return 'unknown path';
  if (req.headers.host !== authority) return 'unexpected Host header';
  if (req.headers.origin !== `http://${authority}`) return 'unexpected Origin';
  const offered = offeredProtocols(req);
  if (!offered.includes(WS_PROTOCOL)) return 'missing subprotocol';
  const tokenProto = offered.find((p) => p.startsWith(WS_TOKEN_PREFIX));
  if (!tokenProto || !tokenMatches(tokenProto.slice(WS_TOKEN_PREFIX.length), token)) return 'bad token';
  return null;
}

function reject(socket: Duplex, status: 400 | 401 | 403): void {
  const text = status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Bad Request';
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

function parseRequest(data: string): WsRequest | null {
  let msg: unknown;
  try {
    msg = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof msg !== 'object' || msg === null) return null;
  const { id, channel } = msg as { id?: unknown; channel?: unknown };
  if (!Number.isSafeInteger(id) || typeof channel !== 'string') return null;
  return { id: id as number, channel, input: (msg as { input?: unknown }).input };
}

export function attachWsIpc(opts: WsIpcOptions): { close(): Promise<void> } {
  const log = opts.log ?? (() => {});
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: WS_MAX_MESSAGE_BYTES,
    handleProtocols: (protocols) => (protocols.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
  });

  opts.server.on('upgrade', (req, socket, head) => {
    const why = refusal(req, opts.token, opts.authority());
    if (why) {
      log(`refused a WebSocket from ${req.socket.remoteAddress}: ${why}`);
      reject(socket, why === 'bad token' ? 401 : why === 'unknown path' ? 400 : 403);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws));
  });

  function serve(ws: WebSocket): void {
    const send = (msg: WsServerMessage) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
    };
    const lagBytes = opts.lagBytes ?? 8 * 1024 * 1024;
    const lagging = new Set<string>();
    let drainTimer: NodeJS.Timeout | undefined;
    const catchUp = () => {
      if (ws.bufferedAmount > lagBytes / 4) return;
      clearInterval(drainTimer);
      drainTimer = undefined;
      const ids = [...lagging];
      log(`WebSocket caught up: sending ${ids.length} snapshot(s) instead of the diffs it could not take`);
      // Diffs stay dropped until each cluster's snapshot is queued, so none can jump ahead of it.
      for (const id of ids) {
        void Promise.resolve(opts.snapshotFor?.(id))
          .then((snap) => {
            if (snap) send({ event: 'cluster:snapshot', payload: snap } as WsServerMessage);
          })
          .catch((e) => log(`snapshot for ${id} failed: ${e instanceof Error ? e.message : String(e)}`))
          .finally(() => lagging.delete(id));
      }
    };
    const unsubscribe = opts.subscribe((event, payload) => {
      if (event === 'cluster:diff' && opts.snapshotFor) {
        const id = (payload as { clusterId: string }).clusterId;
        if (lagging.has(id)) return;
        if (ws.bufferedAmount > lagBytes) {
          lagging.add(id);
          drainTimer ??= setInterval(catchUp, 100);
          return;
        }
      }
      send({ event, payload } as WsServerMessage);
    });
    ws.on('close', () => {
      clearInterval(drainTimer);
      unsubscribe();
    });
    ws.on('error', (e) => log(`WebSocket error: ${e.message}`));
    ws.on('message', async (data, isBinary) => {
      if (isBinary) {
        ws.close(1003, 'text messages only');
        return;
      }
      const req = parseRequest(data.toString());
      if (!req) {
        // Without a usable id there is no one to answer; a client that sends garbage is dropped.
        ws.close(1007, 'malformed request');
        return;
      }
      let result: Awaited<ReturnType<IpcRouter['handle']>>;
      try {
        result = await opts.router.handle(req.channel, req.input);
      } catch (e) {
        result = fail('internal', `router failed: ${e instanceof Error ? e.message : String(e)}`);
      }
      send({ id: req.id, result });
    });
  }

  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}
