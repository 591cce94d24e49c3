import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  KubeApiError,
  KubeClient,
  kubeconfigConnection,
  parseSimpleYaml,
  RESOURCES,
  retryOnConflict,
} from './kube-client.ts';

describe('kubeconfig', () => {
  test('reads the YAML kubectl writes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kc-'));
    const path = join(dir, 'config');
    writeFileSync(
      path,
      `apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: ${Buffer.from('CA').toString('base64')}
    server: https://127.0.0.1:6443
  name: lab
contexts:
- context:
    cluster: lab
    user: admin
  name: lab
current-context: lab
users:
- name: admin
  user:
    token: "abc"
`,
    );
    const c = kubeconfigConnection(path);
    expect(c.server).toBe('https://127.0.0.1:6443');
    expect(c.ca?.toString()).toBe('CA');
    expect(c.token).toBe('abc');
    expect(() => kubeconfigConnection(path, 'missing')).toThrow(/context "missing" not found/);
  });
  test('YAML subset: nested lists and scalars', () => {
    expect(parseSimpleYaml('a:\n  - x: 1\n    y: "two"\n  - plain\nb: true\n')).toEqual({
      a: [{ x: 1, y: 'two' }, 'plain'],
      b: true,
    });
  });
});

describe('REST client against a fake API server', () => {
  let server: http.Server;
  let client: KubeClient;
  const seen: string[] = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/api/v1/nodes' && url.searchParams.get('watch')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(
          `${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'n3', resourceVersion: '11' } } })}\n`,
        );
        res.write(
          `${JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '12' } } })}\n`,
        );
        res.end(
          `${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old' } })}\n`,
        );
      } else if (url.pathname === '/api/v1/nodes') {
        const page = url.searchParams.get('continue');
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify(
            page
              ? { items: [{ metadata: { name: 'n2' } }], metadata: { resourceVersion: '10' } }
              : {
                  items: [{ metadata: { name: 'n1' } }],
                  metadata: { resourceVersion: '9', continue: 'tok' },
                },
          ),
        );
      } else if (req.method === 'PATCH') {
        res.writeHead(409, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            kind: 'Status',
            code: 409,
            reason: 'Conflict',
            message: 'the object has been modified',
          }),
        );
      } else {
        res.writeHead(404).end(JSON.stringify({ reason: 'NotFound', message: 'nodes "x" not found' }));
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    client = new KubeClient({ server: `http://127.0.0.1:${port}`, token: 't' });
  });
  afterAll(() => {
    client.close();
    server.close();
  });

  test('list follows continue tokens', async () => {
    const r = await client.list(RESOURCES.nodes);
    expect(r.items.map((i) => i.metadata.name)).toEqual(['n1', 'n2']);
    expect(r.resourceVersion).toBe('10');
    expect(seen.some((s) => s.includes('continue=tok'))).toBe(true);
  });

  test('watch delivers events and bookmarks, then reports 410 as Gone', async () => {
    const events: string[] = [];
    const err = await client
      .watch(RESOURCES.nodes, { resourceVersion: '9' }, (e) =>
        events.push(`${e.type}:${e.object.metadata.resourceVersion}`),
      )
      .catch((e: unknown) => e);
    expect(events).toEqual(['ADDED:11', 'BOOKMARK:12']);
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).status).toBe(410);
  });

  test('errors carry status and hint; conflict retry gives up after the attempts', async () => {
    expect(await client.getOrUndefined(RESOURCES.nodes, 'x')).toBeUndefined();
    let calls = 0;
    const err = await retryOnConflict(() => {
      calls++;
      return client.patch(RESOURCES.nodes, 'n1', {});
    }, 3).catch((e: unknown) => e);
    expect(calls).toBe(3);
    expect((err as KubeApiError).status).toBe(409);
    expect((err as Error).message).toMatch(/re-read and retry/);
  });
});
