import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTestPki } from './test-support/fake-apiserver.ts';
import { Upstream, UpstreamError } from './upstream.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgefleet-upstream-'));
const pki = makeTestPki(dir);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Upstream credentials', () => {
  const ca = readFileSync(pki.ca);
  const cert = readFileSync(pki.clientCert);

  it('refuses a key that does not match the certificate, at start and on rotation, saying why', () => {
    const wrongKey = readFileSync(pki.serverKey);
    const err = (() => {
      try {
        new Upstream(['https://127.0.0.1:1'], 'priority', { ca, cert, key: wrongKey });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as UpstreamError).code).toBe('ETLSCONFIG');
    expect((err as Error).message).toMatch(/does the key match the certificate/);

    const up = new Upstream(['https://127.0.0.1:1'], 'priority', {
      ca,
      cert,
      key: readFileSync(pki.clientKey),
    });
    expect(() => up.setCredentials({ ca, cert, key: wrongKey })).toThrow(UpstreamError);
    up.close();
  });
});
