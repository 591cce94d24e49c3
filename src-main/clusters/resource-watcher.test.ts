import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { testKubeConfig } from '../../test/unit/kubeconfig.ts';
import type { ResourceKind, ResourceState } from '../ipc/types.ts';
import { type KubeObj, ResourceWatcher, type WatcherSink } from './resource-watcher.ts';

// A scripted fake API server on 127.0.0.1 speaking just enough list/watch.
type Handler = (url: URL, res: http.ServerResponse) => void;

async function fakeApi(handler: Handler) {
  const requests: URL[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(url);
    handler(url, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const kc = testKubeConfig(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  return { kc, requests, close: () => new Promise((r) => server.close(r)), server };
}

function recorder() {
  const log: string[] = [];
  const states: ResourceState[] = [];
  const replaced: KubeObj[][] = [];
  const sink: WatcherSink = {
    replace: (_k: ResourceKind, items) => {
      replaced.push(items);
      log.push(`replace:${items.map((i) => i.metadata?.name).join(',')}`);
    },
    upsert: (_k, o) => log.push(`upsert:${o.metadata?.name}`),
    remove: (_k, o) => log.push(`remove:${o.metadata?.name}`),
    state: (_k, s) => {
      states.push(s);
      log.push(`state:${s.status}`);
    },
    contact: () => {},
    trouble: (_k, e) => log.push(`trouble:${e.message}`),
  };
  return { sink, log, states, replaced };
}

const obj = (name: string, rv: string) => ({ metadata: { name, resourceVersion: rv } });
const until = async (what: string, ok: () => boolean, ms = 5_000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

let cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

describe('ResourceWatcher', () => {
  it('lists in pages, follows bookmarks, re-watches a stalled watch from the last version, re-lists on 410', async () => {
    let watches = 0;
    let lists = 0;
    const hanging: http.ServerResponse[] = [];
    const api = await fakeApi((url, res) => {
      if (url.searchParams.get('watch') !== '1') {
        const cont = url.searchParams.get('continue');
        if (!cont) lists++;
        const page =
          cont === 'p2'
            ? { items: [obj('c', '12')], metadata: { resourceVersion: '20' } }
            : { items: [obj('a', '10'), obj('b', '11')], metadata: { continue: 'p2' } };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(page));
        return;
      }
      watches++;
      res.writeHead(200, { 'content-type': 'application/json' });
      if (watches === 1) {
        // An event and a bookmark, then silence on an open connection (a half-open link looks like this).
        res.write(`${JSON.stringify({ type: 'ADDED', object: obj('d', '21') })}\n`);
        res.write(
          `${JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '25' } } })}\n`,
        );
        hanging.push(res);
      } else if (watches === 2) {
        res.end(
          `${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, message: 'too old resource version' } })}\n`,
        );
      } else {
        hanging.push(res);
      }
    });
    const r = recorder();
    const w = new ResourceWatcher(api.kc, { kind: 'pods', path: '/api/v1/pods' }, r.sink, {
      pageSize: 2,
      stallMs: 300,
      backoffMinMs: 10,
      backoffMaxMs: 20,
    });
    cleanup.push(
      api.close,
      async () => {
        for (const h of hanging) h.destroy();
      },
      () => w.stop(),
    );
    w.start();
    await until('second list after 410', () => lists === 2 && watches >= 3);

    expect(r.replaced[0]?.map((o) => o.metadata?.name)).toEqual(['a', 'b', 'c']);
    expect(r.log).toContain('upsert:d');
    expect(r.log.some((l) => l.startsWith('trouble:') && l.includes('stalled'))).toBe(true);
    const watchReqs = api.requests.filter((u) => u.searchParams.get('watch') === '1');
    expect(watchReqs[0]?.searchParams.get('resourceVersion')).toBe('20');
    expect(watchReqs[0]?.searchParams.get('allowWatchBookmarks')).toBe('true');
    // After the stall we resume from the bookmark's version, not from scratch.
    expect(watchReqs[1]?.searchParams.get('resourceVersion')).toBe('25');
    const pageReqs = api.requests.filter((u) => u.searchParams.get('watch') !== '1');
    expect(pageReqs.map((u) => u.searchParams.get('limit'))).toEqual(['2', '2', '2', '2']);
  });

  it('reports forbidden (403) and absent (404, after trying older versions) per resource', async () => {
    const api = await fakeApi((url, res) => {
      if (url.pathname.startsWith('/api/v1/pods'))
        res.writeHead(403).end(
          JSON.stringify({
            kind: 'Status',
            code: 403,
            message: 'pods is forbidden: User "x" cannot list resource "pods"',
          }),
        );
      else res.writeHead(404).end('{}');
    });
    const r1 = recorder();
    const r2 = recorder();
    const pods = new ResourceWatcher(api.kc, { kind: 'pods', path: '/api/v1/pods' }, r1.sink, {
      slowRetryMs: 60_000,
    });
    const pools = new ResourceWatcher(
      api.kc,
      { kind: 'nodepools', path: '/apis/apps.openyurt.io/v1beta2/nodepools' },
      r2.sink,
      { slowRetryMs: 60_000 },
    );
    cleanup.push(
      api.close,
      () => pods.stop(),
      () => pools.stop(),
    );
    pods.start();
    pools.start();
    await until('states', () => r1.states.length > 0 && r2.states.length > 0);
    expect(r1.states[0]).toEqual({
      status: 'forbidden',
      message: expect.stringContaining('cannot list resource "pods"'),
    });
    expect(r2.states[0]?.status).toBe('absent');
    expect(api.requests.map((u) => u.pathname).filter((p) => p.includes('nodepools'))).toEqual([
      '/apis/apps.openyurt.io/v1beta2/nodepools',
      '/apis/apps.openyurt.io/v1beta1/nodepools',
      '/apis/apps.openyurt.io/v1alpha1/nodepools',
    ]);
  });
});
