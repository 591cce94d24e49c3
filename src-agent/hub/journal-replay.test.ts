import { afterEach, describe, expect, it } from 'vitest';
import { send, until } from './test-support/hub-client.ts';
import { startTestHub } from './test-support/test-hub.ts';

const KUBELET = 'kubelet/v1.36.3 (linux/amd64) kubernetes/abc';
const PROTOBUF = 'application/vnd.kubernetes.protobuf';

/** Shaped like a kubelet protobuf body: the `k8s\0` magic, then bytes that are not valid UTF-8. */
function protobufEvent(tag: number): Buffer {
  return Buffer.concat([
    Buffer.from('k8s\0'),
    Buffer.from([0x0a, 0x0b, 0x0a, 0x02, 0x76, 0x31, 0x12, 0x05]),
    Buffer.from('Event'),
    Buffer.from([0x12, 0x80, 0xff, 0xfe, 0xc3, 0x28, tag]),
  ]);
}

let stopHub: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stopHub?.();
  stopHub = undefined;
});

async function offlineHub() {
  const t = await startTestHub('hub-journal-');
  stopHub = t.stop;
  t.api.addPod('web-1', { app: 'web' });
  const goOffline = async () => {
    await t.api.stop();
    await t.hub.probeNow();
    expect(t.hub.isCloudHealthy()).toBe(false);
  };
  const goOnline = async () => {
    await t.api.start(t.api.port);
    await t.hub.probeNow();
    await t.hub.probeNow();
    expect(t.hub.isCloudHealthy()).toBe(true);
  };
  return { ...t, goOffline, goOnline };
}

describe('journal replay of protobuf bodies', () => {
  it('replays offline protobuf events byte for byte with their Content-Type; the offline answer echoes them', async () => {
    const t = await offlineHub();
    await t.goOffline();
    const bodies = [protobufEvent(1), protobufEvent(2)];
    for (const body of bodies) {
      const r = await send(t.hub.proxyAddress, 'POST', '/api/v1/namespaces/default/events', {
        ua: KUBELET,
        body,
        headers: { 'content-type': PROTOBUF, accept: `${PROTOBUF}, */*` },
      });
      expect(r.status).toBe(201);
      // The API server answers a create with the object; for protobuf that is the client's own bytes.
      expect(r.headers['content-type']).toBe(PROTOBUF);
      expect(r.body.equals(body)).toBe(true);
    }
    expect(t.hub.journal.size).toBe(2);
    const before = t.api.seen.length;
    await t.goOnline();
    await until(() => t.hub.journal.size === 0, 5000, 'journal replayed');
    const posted = t.api.seen.slice(before).filter((s) => s.method === 'POST' && s.url.endsWith('/events'));
    expect(posted.map((s) => s.headers['content-type'])).toEqual([PROTOBUF, PROTOBUF]);
    expect(posted.map((s) => s.raw.toString('hex'))).toEqual(bodies.map((b) => b.toString('hex')));
    expect(t.api.events.size).toBe(2);
    expect(t.hub.journal.rejected).toBe(0);
  });

  it('drops and counts a PATCH of an event that is gone (404), without calling it a rejection', async () => {
    const t = await offlineHub();
    await t.goOffline();
    const patch = await send(t.hub.proxyAddress, 'PATCH', '/api/v1/namespaces/default/events/web-1.expired', {
      ua: KUBELET,
      body: Buffer.from(JSON.stringify({ count: 3 })),
      headers: { 'content-type': 'application/strategic-merge-patch+json' },
    });
    expect(patch.status).toBe(200);
    const ok = await send(t.hub.proxyAddress, 'POST', '/api/v1/namespaces/default/events', {
      ua: KUBELET,
      body: protobufEvent(3),
      headers: { 'content-type': PROTOBUF },
    });
    expect(ok.status).toBe(201);
    await t.goOnline();
    await until(() => t.hub.journal.size === 0, 5000, 'journal replayed');
    expect(t.hub.journal.eventsGone).toBe(1);
    expect(t.hub.journal.rejected).toBe(0);
    // The entry behind the gone one still landed.
    expect(t.api.events.size).toBe(1);
    const m = await metrics(t.hub.adminAddress);
    expect(m).toMatch(/edgefleet_hub_journal_events_gone_total 1/);
    expect(m).toMatch(/edgefleet_hub_journal_rejected_total 0/);
  });

  it('a protobuf status write that conflicts (409) is dropped as stale and counted; JSON ones are still merged', async () => {
    const t = await offlineHub();
    // kubelet read its pod while online, so the hub has a copy to answer status writes with.
    expect(
      (await send(t.hub.proxyAddress, 'GET', '/api/v1/namespaces/default/pods/web-1', { ua: KUBELET }))
        .status,
    ).toBe(200);
    await t.hub.cache.idle();
    await t.goOffline();
    const pb = await send(t.hub.proxyAddress, 'PUT', '/api/v1/namespaces/default/pods/web-1/status', {
      ua: KUBELET,
      body: protobufEvent(4),
      headers: { 'content-type': PROTOBUF, accept: 'application/json' },
    });
    // The client asked for JSON, which protobuf bytes cannot be: it gets the cached pod instead.
    expect(pb.status).toBe(200);
    expect(JSON.parse(pb.body.toString()).metadata.name).toBe('web-1');
    t.api.conflictsToSend = 1;
    await t.goOnline();
    await until(() => t.hub.journal.size === 0, 5000, 'journal replayed');
    expect(t.hub.journal.staleStatusDropped).toBe(1);
    expect(t.hub.journal.rejected).toBe(0);
    expect(t.log.lines.some((l) => l.event === 'journal.entry_rejected')).toBe(false);
    expect(await metrics(t.hub.adminAddress)).toMatch(/edgefleet_hub_journal_stale_status_dropped_total 1/);

    // A JSON status write still gets the re-read-and-re-apply treatment on conflict.
    await t.goOffline();
    await send(t.hub.proxyAddress, 'PUT', '/api/v1/namespaces/default/pods/web-1/status', {
      ua: KUBELET,
      body: Buffer.from(
        JSON.stringify({ metadata: { name: 'web-1', resourceVersion: '1' }, status: { phase: 'Failed' } }),
      ),
      headers: { 'content-type': 'application/json' },
    });
    t.api.conflictsToSend = 1;
    await t.goOnline();
    await until(() => t.hub.journal.size === 0, 5000, 'journal replayed');
    expect((t.api.pods.get('default/web-1')?.status as { phase?: string } | undefined)?.phase).toBe('Failed');
    expect(t.hub.journal.staleStatusDropped).toBe(1);
  });
});

async function metrics(admin: string): Promise<string> {
  return (await send(admin, 'GET', '/metrics', { ua: 'test' })).body.toString();
}
