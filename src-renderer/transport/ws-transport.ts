/**
 * The browser host's WebSocket as a Transport. Requests wait for the socket; a dropped socket
 * fails the requests in flight (their answers are lost) and reconnects with backoff. A refused
 * handshake (wrong token) is final: retrying cannot fix it.
 */

import type { EventChannel } from '../../src-main/ipc/contract.ts';
import {
  WS_PATH,
  WS_PROTOCOL,
  WS_TOKEN_PREFIX,
  type WsServerMessage,
} from '../../src-main/ipc/ws-protocol.ts';
import { IpcCallError, type Transport, type TransportState, unwrap } from './transport.ts';

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export function wsTransport(opts: { host: string; token: string }): Transport {
  let socket: WebSocket | null = null;
  let state: TransportState = 'connecting';
  let detail: string | undefined;
  let nextId = 1;
  let attempts = 0;
  let everOpened = false;
  const pending = new Map<number, Pending>();
  const queued: string[] = [];
  const listeners = new Map<EventChannel, Set<(p: unknown) => void>>();
  const stateListeners = new Set<(s: TransportState, d?: string) => void>();

  const setState = (s: TransportState, d?: string) => {
    state = s;
    detail = d;
    for (const l of stateListeners) l(s, d);
  };

  const connect = () => {
    setState('connecting', attempts > 0 ? `reconnecting to EdgeFleet (attempt ${attempts + 1})` : undefined);
    const ws = new WebSocket(`ws://${opts.host}${WS_PATH}`, [WS_PROTOCOL, `${WS_TOKEN_PREFIX}${opts.token}`]);
    socket = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      everOpened = true;
      attempts = 0;
      setState('open');
      for (const m of queued.splice(0)) ws.send(m);
    };
    ws.onmessage = (ev) => {
      const msg = JSON.parse(String(ev.data)) as WsServerMessage;
      if ('id' in msg) {
        const p = pending.get(msg.id);
        pending.delete(msg.id);
        if (!p) return;
        try {
          p.resolve(unwrap(msg.result));
        } catch (e) {
          p.reject(e as Error);
        }
      } else {
        for (const l of listeners.get(msg.event) ?? []) l(msg.payload);
      }
    };
    ws.onclose = (ev) => {
      socket = null;
      for (const [id, p] of pending) {
        pending.delete(id);
        p.reject(new IpcCallError({ code: 'ipc/disconnected', message: 'connection to EdgeFleet lost' }));
      }
      // A socket that never opened and was never open before: the host refused us (token/origin).
      if (!opened && !everOpened) {
        setState('closed', 'EdgeFleet refused this page (is the link from this run of `npm start`?)');
        return;
      }
      attempts++;
      if (attempts > 30) {
        setState('closed', `EdgeFleet stopped answering (${ev.code})`);
        return;
      }
      setState('connecting', `connection to EdgeFleet lost (${ev.code}); reconnecting`);
      setTimeout(connect, Math.min(5_000, 200 * 2 ** attempts));
    };
  };
  connect();

  return {
    kind: 'websocket',
    invoke(channel, input) {
      const id = nextId++;
      const text = JSON.stringify({ id, channel, input });
      return new Promise((resolve, reject) => {
        if (state === 'closed') {
          reject(new IpcCallError({ code: 'ipc/disconnected', message: detail ?? 'not connected' }));
          return;
        }
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        if (socket?.readyState === WebSocket.OPEN) socket.send(text);
        else queued.push(text);
      });
    },
    on(channel, callback) {
      let set = listeners.get(channel);
      if (!set) {
        set = new Set();
        listeners.set(channel, set);
      }
      const l = callback as (p: unknown) => void;
      set.add(l);
      return () => {
        set.delete(l);
      };
    },
    onState(callback) {
      stateListeners.add(callback);
      callback(state, detail);
      return () => {
        stateListeners.delete(callback);
      };
    },
  };
}
