import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { EventChannel } from '../ipc/contract.ts';
import type { SshSession } from '../provision/ssh-session.ts';
import { StreamsService } from './streams.ts';

/** An SSH session whose `journalctl` prints the given JSON lines and then waits (like -f). */
function fakeSsh(lines: string[]) {
  const closed: string[] = [];
  const session = {
    target: { host: 'edge-1' },
    close: () => closed.push('session'),
    spawn: async (command: string) => {
      const stdout = new PassThrough();
      for (const l of lines) stdout.write(`${l}\n`);
      return {
        stdout,
        stderr: new PassThrough(),
        exit: new Promise(() => {}),
        close: () => closed.push(`proc: ${command.slice(0, 40)}`),
      };
    },
  } as unknown as SshSession;
  return { session, closed };
}

describe('StreamsService', () => {
  it('events come after the open answer; closeAll ends streams as renderer-gone and releases the session', async () => {
    const events: { channel: EventChannel; payload: unknown }[] = [];
    const ssh = fakeSsh([JSON.stringify({ MESSAGE: 'hub ready', __REALTIME_TIMESTAMP: '1767323045123456' })]);
    const svc = new StreamsService({
      emit: (channel, payload) => events.push({ channel, payload }),
      kubeConfigFor: () => Promise.reject(new Error('unused')),
      openSsh: async () => ssh.session,
      outbox: { flushMs: 1 },
    });
    const h = svc.handlers();
    const opened = await h['streams:serviceLogs']({
      hostId: 'lab/edge-1',
      unit: 'edgefleet-hub',
      follow: true,
    });
    expect(events).toEqual([]);
    await expect.poll(() => events.map((e) => e.channel)).toEqual(['stream:lines']);
    expect(events[0]?.payload).toEqual({
      streamId: opened.streamId,
      seq: 1,
      lines: [{ line: 'hub ready', ts: '2026-01-02T03:04:05.123456Z' }],
    });
    svc.closeAll('renderer-gone');
    expect(events.at(-1)).toEqual({
      channel: 'stream:end',
      payload: { streamId: opened.streamId, reason: 'renderer-gone' },
    });
    expect(ssh.closed).toEqual([expect.stringMatching(/^proc: exec 3<&0/), 'session']);
    expect(svc.openCount).toBe(0);
    expect(() => h['streams:write']({ streamId: opened.streamId, data: 'x' })).toThrow(/No open stream/);
  });

  it('refuses more than maxStreams open streams with a fix', async () => {
    const svc = new StreamsService({
      emit: () => {},
      kubeConfigFor: () => Promise.reject(new Error('unused')),
      openSsh: async () => fakeSsh([]).session,
      maxStreams: 1,
    });
    const h = svc.handlers();
    await h['streams:serviceLogs']({ hostId: 'lab/edge-1', unit: 'edgefleet-hub' });
    await expect(
      h['streams:serviceLogs']({ hostId: 'lab/edge-1', unit: 'edgefleet-hub' }),
    ).rejects.toMatchObject({
      code: 'streams/too-many',
      fix: expect.any(String),
    });
    svc.closeAll('closed');
  });
});
