/**
 * The browser host's WebSocket framing around the IPC contract: one JSON text message per
 * request, response or event. Requests carry a client-chosen id that the response echoes.
 */
import type { EventChannel, EventMap } from './contract.ts';
import type { Result } from './errors.ts';

/** Offered by the client and selected by the server; a socket without it is refused. */
export const WS_PROTOCOL = 'edgefleet.v1';
/** The per-run token travels as a second offered subprotocol (browsers cannot set headers on WebSockets). */
export const WS_TOKEN_PREFIX = 'edgefleet-token.';
export const WS_PATH = '/ipc';
/** Requests are small (paths, ids); anything larger is a bug or an attack. */
export const WS_MAX_MESSAGE_BYTES = 64 * 1024;

export interface WsRequest {
  id: number;
  channel: string;
  input?: unknown;
}

export interface WsResponse {
  id: number;
  result: Result<unknown>;
}

export type WsEvent = {
  [E in EventChannel]: { event: E; payload: EventMap[E] };
}[EventChannel];

export type WsServerMessage = WsResponse | WsEvent;
