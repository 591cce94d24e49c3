import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { testKubeConfig } from '../../test/unit/kubeconfig.ts';
import type { ObjectEventsUpdate } from '../ipc/types.ts';
import { ObjectEventsService } from './object-events.ts';

let close: (() => Promise<unknown>) | undefined;
let service: ObjectEventsService | undefined;
afterEach(async () => {
  await service?.closeAll();
  await close?.();
});

const event = (name: string, type: string, last: string) => ({
  metadata: { name, namespace: 'default', uid: name, resourceVersion: '5' },
  involvedObject: { kind: 'Node', name: 'edge-1' },
  type,
  reason: name,
  message: 'm',
  count: 1,
  lastTimestamp: last,
});

/** A fake API server: answers event lists per `respond`, holds watches open. */
async function setup(respond: (url: URL) => { status: number; body: unknown }) {
  const requests: URL[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(url);
    if (url.searchParams.get('watch') === '1') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return; // held open until the client aborts
    }
    const { status, body } = respond(url);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  close = () => {
    server.closeAllConnections();
    return new Promise((r) => server.close(r));
  };
  const kc = testKubeConfig(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  const updates: ObjectEventsUpdate[] = [];
  service = new ObjectEventsService({
    kubeConfigFor: async () => kc,
    emit: (channel, payload) => {
      if (channel === 'events:object') updates.push(payload as ObjectEventsUpdate);
    },
    watcher: { slowRetryMs: 60_000, backoffMinMs: 50 },
  });
  return { requests, updates, service };
}

const until = async (what: string, ok: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('one object’s events on demand', () => {
  it('asks the API server for that object’s events only and sends them newest first, every type', async () => {
    const { requests, updates, service } = await setup(() => ({
      status: 200,
      body: {
        metadata: { resourceVersion: '9' },
        items: [
          event('old', 'Normal', '2026-01-01T00:00:00Z'),
          event('new', 'Warning', '2026-01-01T00:05:00Z'),
        ],
      },
    }));
    const { watchId } = await service.watch({ clusterId: 'c/x', kind: 'Node', name: 'edge-1' });
    await until('the list', () => updates.some((u) => u.items.length === 2));
    const last = updates.at(-1) as ObjectEventsUpdate;
    expect(last.watchId).toBe(watchId);
    expect(last.items.map((e) => e.reason)).toEqual(['new', 'old']);
    expect(requests[0]?.pathname).toBe('/api/v1/events');
    expect(requests[0]?.searchParams.get('fieldSelector')).toBe(
      'involvedObject.kind=Node,involvedObject.name=edge-1',
    );
    await until('the watch', () => requests.some((r) => r.searchParams.get('watch') === '1'));
    await service.unwatch(watchId);
    expect(service.count()).toBe(0);
  });

  it('says forbidden when RBAC refuses, not an empty list', async () => {
    const { updates, service } = await setup(() => ({
      status: 403,
      body: { kind: 'Status', message: 'events is forbidden: User "viewer" cannot list resource "events"' },
    }));
    await service.watch({ clusterId: 'c/x', kind: 'Pod', namespace: 'shop', name: 'web-1' });
    await until('forbidden', () => updates.some((u) => u.state.status === 'forbidden'));
    expect(updates.find((u) => u.state.status === 'forbidden')?.state.message).toContain('cannot list');
  });

  it('refuses more open watches than a view could need', async () => {
    const { service } = await setup(() => ({
      status: 200,
      body: { metadata: { resourceVersion: '1' }, items: [] },
    }));
    for (let i = 0; i < 16; i++) await service.watch({ clusterId: 'c/x', kind: 'Node', name: `n${i}` });
    await expect(service.watch({ clusterId: 'c/x', kind: 'Node', name: 'one-more' })).rejects.toThrow(
      /watches are open already/,
    );
  });
});
