import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTestPki } from './test-support/fake-apiserver.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgefleet-default-ca-'));
const pki = makeTestPki(dir);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * trustOnlyClusterCa changes process-wide TLS defaults, so each case runs in its own Node process:
 * it calls it with `caFile`, then reports the default CA list and whether an HTTPS request that passes
 * no `ca` reaches a server whose certificate the test CA signed.
 */
function runChild(caFile: string): { defaults: string[]; reached: string; warnings: string[] } {
  const script = `
    import * as https from 'node:https';
    import * as tls from 'node:tls';
    import { readFileSync } from 'node:fs';
    import { trustOnlyClusterCa } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, 'default-ca.ts')).href)};
    const warnings = [];
    const log = { info() {}, error() {}, warn: (event) => warnings.push(event) };
    await trustOnlyClusterCa(${JSON.stringify(caFile)}, log);
    const server = https.createServer(
      { cert: readFileSync(${JSON.stringify(pki.serverCert)}), key: readFileSync(${JSON.stringify(pki.serverKey)}) },
      (_req, res) => res.end('ok'),
    );
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const reached = await new Promise((resolve) => {
      https
        .get({ host: '127.0.0.1', port: server.address().port, path: '/', agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(String(res.statusCode)));
        })
        .on('error', (err) => resolve(err.code ?? err.message));
    });
    server.close();
    console.log(JSON.stringify({ defaults: tls.getCACertificates('default'), reached, warnings }));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 15_000,
  });
  return JSON.parse(out);
}

describe('trustOnlyClusterCa', () => {
  it('makes the cluster CA the only default trust root', () => {
    const r = runChild(pki.ca);
    expect(r.defaults.map((c) => c.trim())).toEqual([readFileSync(pki.ca, 'utf8').trim()]);
    // A client that passes no CA of its own trusts the cluster CA…
    expect(r.reached).toBe('200');
    expect(r.warnings).toEqual([]);
  });

  it('keeps Node defaults and warns when the CA file cannot be read', () => {
    const r = runChild(join(dir, 'missing-ca.crt'));
    expect(r.warnings).toEqual(['hub.default_ca_not_set']);
    // Node's bundled roots are still the default, and they do not include the test CA.
    expect(r.defaults.length).toBeGreaterThan(50);
    expect(r.reached).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });
});
