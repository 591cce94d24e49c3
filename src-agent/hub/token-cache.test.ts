import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { send } from './test-support/hub-client.ts';
import { startTestHub } from './test-support/test-hub.ts';

const KUBELET = 'kubelet/v1.36.3 (linux/amd64) kubernetes/abc';
const PROTOBUF = 'application/vnd.kubernetes.protobuf';
const TOKEN_PATH = '/api/v1/namespaces/default/serviceaccounts/default/token';

/** kubelet's TokenRequest for one pod, protobuf-encoded (audience, expiry, pod name and UID inside). */
function tokenRequest(podUid: string): Buffer {
  return Buffer.concat([Buffer.from('k8s\0'), Buffer.from([0x12, 0x90, 0xff]), Buffer.from(podUid)]);
}

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) out.push(join(e.parentPath, e.name));
  return out;
}

let stopHub: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stopHub?.();
  stopHub = undefined;
});

describe('service-account token cache', () => {
  it('serves the token issued online to the same request offline, never to another; encrypted on disk', async () => {
    const t = await startTestHub('hub-tokens-');
    stopHub = t.stop;
    const ask = (podUid: string) =>
      send(t.hub.proxyAddress, 'POST', TOKEN_PATH, {
        ua: KUBELET,
        body: tokenRequest(podUid),
        headers: { 'content-type': PROTOBUF, accept: `${PROTOBUF}, */*` },
      });
    const online = await ask('uid-a');
    expect(online.status).toBe(201);
    const token = JSON.parse(online.body.toString()).status.token as string;
    expect(token).toBe('issued-token-1-for-default-default');
    // The request reached the API server unchanged (protobuf, node certificate).
    const seen = t.api.seen.filter((s) => s.url === TOKEN_PATH);
    expect(seen.map((s) => s.raw.equals(tokenRequest('uid-a')))).toEqual([true]);
    expect(seen[0]?.clientCN).toBe('system:node:n1');
    // A secret at rest: no cache file holds the token in clear.
    for (const f of await files(t.config.cacheDir))
      expect((await readFile(f)).includes(token), f).toBe(false);

    await t.api.stop();
    await t.hub.probeNow();
    expect(t.hub.isCloudHealthy()).toBe(false);
    const offline = await ask('uid-a');
    expect(offline.status).toBe(201);
    expect(JSON.parse(offline.body.toString()).status.token).toBe(token);
    // Another pod (another UID in the request) never gets that pod's token.
    const other = await ask('uid-b');
    expect(other.status).toBe(503);
    expect(JSON.parse(other.body.toString()).message).toMatch(/no valid token/);
    const m = (await send(t.hub.adminAddress, 'GET', '/metrics', { ua: 't' })).body.toString();
    expect(m).toMatch(/edgefleet_hub_token_cache_served_offline_total 1/);
    expect(m).toMatch(/edgefleet_hub_token_cache_stored_total 1/);
  });

  it('does not hand out a token past (or too close to) its expiry', async () => {
    const t = await startTestHub('hub-tokens-exp-');
    stopHub = t.stop;
    t.api.tokenTtlSeconds = 5;
    const ask = () =>
      send(t.hub.proxyAddress, 'POST', TOKEN_PATH, {
        ua: KUBELET,
        body: tokenRequest('uid-a'),
        headers: { 'content-type': PROTOBUF },
      });
    expect((await ask()).status).toBe(201);
    await t.api.stop();
    await t.hub.probeNow();
    expect((await ask()).status).toBe(503);
  });
});
