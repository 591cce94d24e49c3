import { afterEach, describe, expect, it } from 'vitest';
import { STDIN_MAX_CHARS } from '../../src-main/ipc/contract.ts';
import type { StreamEnd, StreamLogLine } from '../../src-main/ipc/stream-types.ts';
import { fakeMain } from '../../test/unit/fake-main.ts';
import { DISCONNECTED, StreamClient } from './stream-client.ts';
import { IpcCallError } from './transport.ts';

const A = 's-00000000000000aa';
const B = 's-00000000000000bb';

let main: ReturnType<typeof fakeMain> | undefined;
afterEach(() => {
  expect(main?.unexpected ?? []).toEqual([]);
  main = undefined;
});

const ids = [A, B];
const opener = () => {
  let n = 0;
  return () => ({ streamId: ids[n++] as string, kind: 'pod-logs' as const });
};
const logs = { clusterId: 'lab/admin', namespace: 'default', pod: 'web' };
const line = (text: string): StreamLogLine => ({ line: text });

function recorder() {
  const r = { lines: [] as string[], output: '', ends: [] as StreamEnd[] };
  return {
    r,
    handlers: {
      lines: (ls: StreamLogLine[]) => r.lines.push(...ls.map((l) => l.line)),
      output: (o: { stdout?: string; stderr?: string }) => {
        r.output += (o.stdout ?? '') + (o.stderr ?? '');
      },
      end: (e: StreamEnd) => r.ends.push(e),
    },
  };
}

describe('StreamClient', () => {
  it('routes each batch to the stream it belongs to and acknowledges it after the view took it', async () => {
    const acks: unknown[] = [];
    main = fakeMain({ 'streams:podLogs': opener(), 'streams:ack': (i) => acks.push(i) && null });
    const client = new StreamClient(main.transport);
    const a = recorder();
    const b = recorder();
    const sa = await client.start('streams:podLogs', logs, a.handlers);
    const sb = await client.start('streams:podLogs', { ...logs, pod: 'db' }, b.handlers);
    expect([sa.id, sb.id]).toEqual([A, B]);
    expect(main.of('streams:podLogs')).toEqual([logs, { ...logs, pod: 'db' }]);

    main.emit('stream:lines', { streamId: A, seq: 1, lines: [line('a1'), line('a2')] });
    main.emit('stream:lines', { streamId: B, seq: 1, lines: [line('b1')] });
    main.emit('stream:lines', { streamId: A, seq: 2, lines: [line('a3')] });
    // Another window's stream: neither delivered nor acknowledged here.
    main.emit('stream:lines', { streamId: 's-00000000000000cc', seq: 1, lines: [line('x')] });
    await Promise.resolve();
    expect(a.r.lines).toEqual(['a1', 'a2', 'a3']);
    expect(b.r.lines).toEqual(['b1']);
    expect(acks).toEqual([
      { streamId: A, seq: 1 },
      { streamId: B, seq: 1 },
      { streamId: A, seq: 2 },
    ]);

    main.emit('stream:end', { streamId: A, reason: 'ended' });
    expect(a.r.ends).toEqual([{ streamId: A, reason: 'ended' }]);
    expect(b.r.ends).toEqual([]);
    expect(client.openCount).toBe(1);
  });

  it('close stops delivery at once, tells main once, and is fine after the end', async () => {
    main = fakeMain({ 'streams:podLogs': opener(), 'streams:close': () => null, 'streams:ack': () => null });
    const client = new StreamClient(main.transport);
    const a = recorder();
    const s = await client.start('streams:podLogs', logs, a.handlers);
    await s.close();
    await s.close();
    expect(main.of('streams:close')).toEqual([{ streamId: A }]);
    // What main had in flight before the close is dropped, not delivered to an unmounted view.
    main.emit('stream:lines', { streamId: A, seq: 1, lines: [line('late')] });
    main.emit('stream:end', { streamId: A, reason: 'closed' });
    expect(a.r).toEqual({ lines: [], output: '', ends: [] });
    expect(main.of('streams:ack')).toEqual([]);
    expect(client.openCount).toBe(0);
  });

  it('exec: output, stdin split under the per-write limit in order, resize', async () => {
    main = fakeMain({
      'streams:exec': () => ({ streamId: A, kind: 'exec', protocol: 'v5.channel.k8s.io' }),
      'streams:write': () => null,
      'streams:resize': () => null,
      'streams:ack': () => null,
    });
    const client = new StreamClient(main.transport);
    const a = recorder();
    const s = await client.start(
      'streams:exec',
      { ...logs, command: ['sh'], tty: true, size: { cols: 80, rows: 24 } },
      a.handlers,
    );
    expect(s.opened.protocol).toBe('v5.channel.k8s.io');
    main.emit('stream:output', { streamId: A, seq: 1, stdout: '$ ' });
    main.emit('stream:output', { streamId: A, seq: 2, stderr: 'oops\n' });
    expect(a.r.output).toBe('$ oops\n');
    const paste = 'x'.repeat(STDIN_MAX_CHARS * 2 + 5);
    await s.write(paste);
    const writes = main.of('streams:write') as { streamId: string; data: string }[];
    expect(writes.map((w) => w.data.length)).toEqual([STDIN_MAX_CHARS, STDIN_MAX_CHARS, 5]);
    expect(writes.map((w) => w.data).join('')).toBe(paste);
    await s.resize(132, 43);
    expect(main.of('streams:resize')).toEqual([{ streamId: A, cols: 132, rows: 43 }]);
    main.emit('stream:end', { streamId: A, reason: 'ended', exitCode: 0 });
    expect(a.r.ends).toEqual([{ streamId: A, reason: 'ended', exitCode: 0 }]);
  });

  it('an open that main refuses rejects with its message and fix; nothing stays open', async () => {
    main = fakeMain({
      'streams:podLogs': () => {
        throw new IpcCallError({
          code: 'kube/no-previous',
          message: 'No previous run',
          fix: 'It never restarted.',
        });
      },
    });
    const client = new StreamClient(main.transport);
    await expect(
      client.start('streams:podLogs', { ...logs, previous: true }, recorder().handlers),
    ).rejects.toMatchObject({
      code: 'kube/no-previous',
      fix: 'It never restarted.',
    });
    expect(client.openCount).toBe(0);
  });

  it('a lost connection ends every open stream with a reason; closing then does not fail', async () => {
    // No `streams:close` answer: a close after the loss must not even try (the fake would fail the test).
    main = fakeMain({ 'streams:podLogs': opener() });
    const client = new StreamClient(main.transport);
    const a = recorder();
    const b = recorder();
    const sa = await client.start('streams:podLogs', logs, a.handlers);
    await client.start('streams:podLogs', logs, b.handlers);
    main.setState('connecting');
    expect(a.r.ends).toEqual([{ streamId: A, reason: 'error', error: DISCONNECTED }]);
    expect(b.r.ends).toEqual([{ streamId: B, reason: 'error', error: DISCONNECTED }]);
    expect(client.openCount).toBe(0);
    await expect(sa.close()).resolves.toBeUndefined();
  });
});
