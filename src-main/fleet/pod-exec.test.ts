import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { testKubeConfig } from '../../test/unit/kubeconfig.ts';
import { openExec } from './pod-exec.ts';

/** A fake API server speaking the exec protocol: it records frames and answers as a script says. */
async function fakeApi(protocols: string[], onFrame: (f: Buffer, send: (b: Buffer) => void) => void) {
  const server = http.createServer((_req, res) => {
    res.writeHead(403, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        kind: 'Status',
        message: 'pods "p" is forbidden: User "bob" cannot create resource "pods/exec"',
        code: 403,
      }),
    );
  });
  const seen: { url: string; auth: string | undefined } = { url: '', auth: undefined };
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => protocols.find((p) => offered.has(p)) ?? false,
  });
  server.on('upgrade', (req, socket, head) => {
    seen.url = req.url ?? '';
    seen.auth = req.headers.authorization;
    if (req.headers.authorization !== 'Bearer tok') {
      socket.end(
        'HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\n\r\n{"message":"pods \\"p\\" is forbidden"}',
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data: Buffer) => onFrame(data, (b) => ws.send(b)));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const kc = (token: string) => testKubeConfig(`http://127.0.0.1:${port}`, { token });
  return {
    kc,
    seen,
    close: () =>
      new Promise<void>((r) => {
        wss.close();
        server.close(() => r());
      }),
  };
}

const ch = (n: number, s: string) => Buffer.concat([Buffer.from([n]), Buffer.from(s)]);

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

describe('openExec', () => {
  it('v5: stdin, resize as {Width,Height}, stdin EOF as channel 255, exit code from the status channel', async () => {
    const frames: Buffer[] = [];
    const api = await fakeApi(['v5.channel.k8s.io'], (f, send) => {
      frames.push(f);
      if (f[0] === 0) send(ch(1, `echo: ${f.subarray(1).toString()}`));
      if (f[0] === 255)
        send(
          ch(
            3,
            JSON.stringify({
              status: 'Failure',
              reason: 'NonZeroExitCode',
              details: { causes: [{ reason: 'ExitCode', message: '7' }] },
            }),
          ),
        );
    });
    cleanup = api.close;
    const out: string[] = [];
    let ended: unknown;
    const h = await openExec(
      api.kc('tok'),
      {
        namespace: 'ns',
        pod: 'p',
        command: ['sh', '-c', 'x y'],
        tty: true,
        stdin: true,
        size: { cols: 80, rows: 24 },
      },
      {
        output: (fd, d) => out.push(`${fd}:${d}`),
        end: (r) => {
          ended = r;
        },
      },
    );
    expect(h.protocol).toBe('v5.channel.k8s.io');
    expect(api.seen.url).toBe(
      '/api/v1/namespaces/ns/pods/p/exec?command=sh&command=-c&command=x+y&stdout=true&stdin=true&tty=true',
    );
    h.write(Buffer.from('hi'));
    h.resize(100, 30);
    h.endStdin();
    await expect.poll(() => ended).toEqual({ exitCode: 7 });
    expect(out).toEqual(['1:echo: hi']);
    expect(frames.map((f) => [f[0], f.subarray(1).toString()])).toEqual([
      [4, '{"Width":80,"Height":24}'],
      [0, 'hi'],
      [4, '{"Width":100,"Height":30}'],
      [255, '\u0000'],
    ]);
  });

  it('falls back to v4, where stdin cannot be closed alone', async () => {
    const api = await fakeApi(['v4.channel.k8s.io'], () => {});
    cleanup = api.close;
    const h = await openExec(
      api.kc('tok'),
      { namespace: 'ns', pod: 'p', command: ['cat'], tty: false, stdin: true },
      {
        output: () => {},
        end: () => {},
      },
    );
    expect(h.protocol).toBe('v4.channel.k8s.io');
    expect(() => h.endStdin()).toThrow(/cannot close stdin alone/);
    h.close();
  });

  it("a refused upgrade becomes the API server's reason with the RBAC fix", async () => {
    const api = await fakeApi(['v5.channel.k8s.io'], () => {});
    cleanup = api.close;
    await expect(
      openExec(
        api.kc('wrong'),
        { namespace: 'ns', pod: 'p', command: ['sh'], tty: false, stdin: false },
        {
          output: () => {},
          end: () => {},
        },
      ),
    ).rejects.toMatchObject({
      code: 'kube/forbidden',
      message: expect.stringMatching(/^Your account may not create pods\/exec in ns: pods "p" is forbidden/),
    });
  });
});
