import { constants, type Http2Session, type Settings } from 'node:http2';

/**
 * The tunnel's wire protocol is plain HTTP/2 with the roles reversed: the agent opens the
 * TLS connection, then the SERVER speaks as the HTTP/2 client on it.
 *  - `GET /v1/hello` (server → agent, once): the agent answers a TunnelHello (JSON).
 *  - `POST /v1/welcome` (server → agent, once): the server checked the hello and registered
 *    the agent; only now does the agent count itself connected (and reset its backoff).
 *  - `CONNECT host:port` (server → agent, per stream): 200 = dialled, the stream is the TCP
 *    byte stream; 403 = refused by the agent's policy; 502 = dial failed. The reason is in the
 *    `x-edgefleet-reason` header.
 *  - GOAWAY with debug data `{"refused": "..."}`: the server refuses this agent (identity).
 * HTTP/2 gives per-stream and per-connection flow control and PING, so neither is hand-made.
 */
export const HELLO_PATH = '/v1/hello';
export const WELCOME_PATH = '/v1/welcome';
export const REASON_HEADER = 'x-edgefleet-reason';
export const PURPOSE_HEADER = 'x-edgefleet-purpose';

export const HTTP2_ALPN = 'h2';

/** Session memory cap (MB) big enough for many streams each holding a full window. */
export const MAX_SESSION_MEMORY_MB = 256;

export function tunnelSettings(streamWindowBytes: number): Settings {
  return {
    enablePush: false,
    initialWindowSize: streamWindowBytes,
    maxConcurrentStreams: 10_000,
    maxFrameSize: 64 * 1024,
  };
}

/** Connection-level receive window: large, because Node returns it as soon as data arrives. */
export function widenConnectionWindow(session: Http2Session): void {
  const apply = () => session.setLocalWindowSize(32 * 1024 * 1024);
  if (session.connecting) session.once('connect', apply);
  else apply();
}

export function refusalPayload(reason: string): Buffer {
  return Buffer.from(JSON.stringify({ refused: reason }));
}

export function parseRefusal(data: Buffer | undefined): string | null {
  if (!data || data.length === 0) return null;
  try {
    const v = JSON.parse(data.toString('utf8')) as { refused?: unknown };
    return typeof v.refused === 'string' ? v.refused : null;
  } catch {
    return null;
  }
}

export const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } = constants;
