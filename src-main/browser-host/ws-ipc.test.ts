import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { EventSink } from '../ipc/contract.ts';
import type { IpcRouter } from '../ipc/router.ts';
import { WS_MAX_MESSAGE_BYTES, WS_PATH, WS_PROTOCOL, WS_TOKEN_PREFIX } from '../ipc/ws-protocol.ts';
import { type BrowserHost, startBrowserHost } from './server.ts';

let dir: string;
let host: BrowserHost;
const handled: { channel: unknown; input: unknown }[] = [];
const sinks = new Set<EventSink>();
const router: IpcRouter = {
  channels: [],
  async handle(channel, input) {
    handled.push({ channel, input });
    return { ok: true, value: { echo: input } };
  },
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ef-ws-ipc-'));
  await writeFile(join(dir, 'index.html'), '<!doctype html><title>t</title>');
  host = await startBrowserHost({
    rendererDir: dir,
    ipc: {
      router,
      subscribe: (s) => {
        sinks.add(s);
        return () => sinks.delete(s);
      },
    },
  });
});

afterAll(async () => {
  await host.close();
  await rm(dir, { recursive: true, force: true });
});

const authority = () => new URL(host.url).host;

function connect(
  opts: { token?: string; origin?: string; host?: string } = {},
): Promise<{ ws: WebSocket } | { status: number }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = opts.host ? { Host: opts.host } : {};
    const ws = new WebSocket(
      `ws://${authority()}${WS_PATH}`,
      [WS_PROTOCOL, `${WS_TOKEN_PREFIX}${opts.token ?? host.token}`],
      { origin: opts.origin ?? `http://${authority()}`, headers },
    );
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_q, r) => {
      resolve({ status: r.statusCode ?? 0 });
      r.destroy();
    });
    ws.once('error', reject);
  });
}

async function open(): Promise<WebSocket> {
  const r = await connect();
  if (!('ws' in r)) throw new Error(`refused: ${r.status}`);
  return r.ws;
}

async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 20));
  expect(ok()).toBe(true);
}

const nextMessage = (ws: WebSocket) =>
  new Promise<unknown>((resolve) => ws.once('message', (d) => resolve(JSON.parse(String(d)))));
const closeCode = (ws: WebSocket) =>
  new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

describe('WebSocket IPC of the browser host', () => {
  it('refuses a wrong token, a foreign origin and a foreign Host (DNS rebinding)', async () => {
    expect(await connect({ token: 'nope' })).toEqual({ status: 401 });
    expect(await connect({ origin: 'http://localhost.evil.example' })).toEqual({ status: 403 });
    expect(await connect({ host: `rebound.example:${new URL(host.url).port}` })).toEqual({ status: 403 });
  });

  it('routes every request through the router and answers with the request id', async () => {
    const ws = await open();
    const reply = nextMessage(ws);
    ws.send(JSON.stringify({ id: 42, channel: 'clusters:watch', input: { clusterId: 'a/b' } }));
    expect(await reply).toEqual({ id: 42, result: { ok: true, value: { echo: { clusterId: 'a/b' } } } });
    expect(handled.at(-1)).toEqual({ channel: 'clusters:watch', input: { clusterId: 'a/b' } });
    const closed = closeCode(ws);
    ws.close();
    await closed;
    await until(() => sinks.size === 0);
  });

  it('pushes events to connected sockets and stops when they close', async () => {
    const ws = await open();
    expect(sinks.size).toBe(1);
    const ev = nextMessage(ws);
    for (const s of sinks) s('vault:status', { backend: 'keychain', detail: 'd', entries: 0 });
    expect(await ev).toEqual({
      event: 'vault:status',
      payload: { backend: 'keychain', detail: 'd', entries: 0 },
    });
    const closed = closeCode(ws);
    ws.close();
    await closed;
    await until(() => sinks.size === 0);
  });

  it('closes a socket that sends an oversized or malformed message, without calling the router', async () => {
    const before = handled.length;
    const big = await open();
    const bigClosed = closeCode(big);
    big.send(
      JSON.stringify({
        id: 1,
        channel: 'clusters:import',
        input: { path: 'x'.repeat(WS_MAX_MESSAGE_BYTES) },
      }),
    );
    expect(await bigClosed).toBe(1009);
    const bad = await open();
    const badClosed = closeCode(bad);
    bad.send('{not json');
    expect(await badClosed).toBe(1007);
    expect(handled.length).toBe(before);
  });
});

describe('WebSocket IPC back-pressure', () => {
  it('a page that stops reading gets no unbounded queue: its diffs are dropped, then one fresh snapshot', async () => {
    const lagSinks = new Set<EventSink>();
    const snapshot = { clusterId: 'c/x', seq: 999, marker: 'fresh' };
    const slowHost = await startBrowserHost({
      rendererDir: dir,
      ipc: {
        router,
        subscribe: (s) => {
          lagSinks.add(s);
          return () => lagSinks.delete(s);
        },
        snapshotFor: (id) => (id === 'c/x' ? (snapshot as never) : undefined),
      },
      lagBytes: 256 * 1024,
    });
    const url = new URL(slowHost.url);
    const ws = new WebSocket(
      `ws://${url.host}${WS_PATH}`,
      [WS_PROTOCOL, `${WS_TOKEN_PREFIX}${slowHost.token}`],
      {
        origin: `http://${url.host}`,
      },
    );
    await new Promise((r) => ws.once('open', r));
    const received: { event?: string; payload?: { seq?: number; marker?: string } }[] = [];
    ws.on('message', (d) => received.push(JSON.parse(String(d))));
    // The page stops reading (a busy renderer): nothing leaves the kernel's buffers.
    (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const big = 'x'.repeat(512 * 1024);
    const sent = 60;
    for (let seq = 1; seq <= sent; seq++)
      for (const sink of lagSinks)
        sink('cluster:diff', { clusterId: 'c/x', seq, at: '', resources: {}, pad: big } as never);
    (ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await until(() => received.some((m) => m.event === 'cluster:snapshot'));
    const diffs = received.filter((m) => m.event === 'cluster:diff').length;
    // Fewer diffs than were sent (the rest were coalesced), then the snapshot that covers them.
    expect(diffs).toBeLessThan(sent);
    expect(received.find((m) => m.event === 'cluster:snapshot')?.payload?.marker).toBe('fresh');
    ws.close();
    await slowHost.close();
  });
});
