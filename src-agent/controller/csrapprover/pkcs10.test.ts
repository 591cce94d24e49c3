import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { createCsr, newNodeKey } from '../../hub/csr.ts';
import { CsrParseError, normalizeIp, parseCsrPem } from './pkcs10.ts';

const dir = mkdtempSync(join(tmpdir(), 'ef-pkcs10-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A request made by the openssl CLI, as an operator or another tool would make it. */
function opensslCsr(name: string, keyArgs: string[], subj: string, san: string): string {
  const out = join(dir, `${name}.csr`);
  execFileSync(
    'openssl',
    [
      'req',
      '-new',
      ...keyArgs,
      '-nodes',
      '-keyout',
      join(dir, `${name}.key`),
      '-out',
      out,
      '-subj',
      subj,
      '-addext',
      `subjectAltName=${san}`,
    ],
    { stdio: 'pipe' },
  );
  return readFileSync(out, 'utf8');
}

const pemOf = (der: Buffer) =>
  `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
const derOf = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');

describe('parseCsrPem', () => {
  test("reads back what the hub's own writer (createCsr) encodes, with a valid EC P-256 signature", () => {
    const key = newNodeKey();
    const pem = createCsr(key.privateKey, 'system:node:edge-1', ['system:nodes'], {
      dns: ['edge-1', 'edge-1.lan'],
      ips: ['127.0.0.1', '169.254.2.1', '198.18.0.7'],
    });
    const p = parseCsrPem(pem);
    expect(p.commonNames).toEqual(['system:node:edge-1']);
    expect(p.organizations).toEqual(['system:nodes']);
    expect(p.dnsNames).toEqual(['edge-1', 'edge-1.lan']);
    expect(p.ipAddresses).toEqual(['127.0.0.1', '169.254.2.1', '198.18.0.7']);
    expect(p.otherNameTypes).toEqual([]);
    expect(p.signatureAlgorithm).toBe('ecdsa-with-SHA256');
    expect(p.signatureValid).toBe(true);
  });

  test('a request without SANs and with two organizations', () => {
    const p = parseCsrPem(createCsr(newNodeKey().privateKey, 'x', ['a', 'b']));
    expect(p).toMatchObject({ commonNames: ['x'], organizations: ['a', 'b'], dnsNames: [], ipAddresses: [] });
    expect(p.signatureValid).toBe(true);
  });

  test('an RSA request made by the openssl CLI, with DNS and IPv4/IPv6 SANs', () => {
    const pem = opensslCsr(
      'rsa',
      ['-newkey', 'rsa:2048'],
      '/O=system:nodes/CN=system:node:edge-2',
      'DNS:edge-2,IP:127.0.0.1,IP:198.18.0.9,IP:::1,IP:FD00:0:0:0:0:0:0:1',
    );
    const p = parseCsrPem(pem);
    expect(p.commonNames).toEqual(['system:node:edge-2']);
    expect(p.organizations).toEqual(['system:nodes']);
    expect(p.dnsNames).toEqual(['edge-2']);
    expect(p.ipAddresses).toEqual(['127.0.0.1', '198.18.0.9', '::1', 'fd00::1']);
    expect(p.signatureAlgorithm).toBe('sha256WithRSAEncryption');
    expect(p.signatureValid).toBe(true);
  });

  test('flags URI and email SANs so they can be refused', () => {
    const pem = opensslCsr(
      'ec-uri',
      ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
      '/O=system:nodes/CN=system:node:edge-3',
      'DNS:edge-3,URI:spiffe://cluster/edge-3,email:ops@example.org',
    );
    const p = parseCsrPem(pem);
    expect(p.dnsNames).toEqual(['edge-3']);
    expect(p.otherNameTypes).toEqual(['uri', 'email']);
    expect(p.signatureValid).toBe(true);
  });

  test('an Ed25519 request made by the openssl CLI verifies too', () => {
    const p = parseCsrPem(
      opensslCsr('ed', ['-newkey', 'ed25519'], '/O=system:nodes/CN=system:node:ed', 'DNS:ed'),
    );
    expect(p.signatureAlgorithm).toBe('Ed25519');
    expect(p.signatureValid).toBe(true);
  });

  test('a request altered after signing fails the signature check', () => {
    const pem = createCsr(newNodeKey().privateKey, 'system:node:edge-a', ['system:nodes'], {
      dns: ['edge-a'],
    });
    const der = derOf(pem);
    const cn = der.indexOf(Buffer.from('system:node:edge-a'));
    der[cn + 'system:node:edge-'.length] = 'b'.charCodeAt(0);
    const p = parseCsrPem(pemOf(der));
    expect(p.commonNames).toEqual(['system:node:edge-b']);
    expect(p.signatureValid).toBe(false);
    expect(p.signatureProblem).toMatch(/does not match/);
  });

  test('a name with a non-ASCII byte is refused, not read as another letter (found by the bad-input soak)', () => {
    // 0xEE with its high bit cleared is 'n': Buffer's 'ascii' decoding read this SAN as "node-1".
    const key = newNodeKey().privateKey;
    const san = createCsr(key, 'system:node:node-1', ['system:nodes'], { dns: ['\u00eeode-1'] });
    expect(() => parseCsrPem(san)).toThrow(/dNSName: byte 0xee is not ASCII/);
    const der = derOf(createCsr(key, 'system:node:node-1', ['system:nodes']));
    // The CN as an IA5String (tag 0x16) with the same trick in it.
    const cn = der.indexOf(Buffer.from('system:node:node-1'));
    der[cn - 2] = 0x16;
    der[cn + 'system:node:'.length] = 0xee;
    expect(() => parseCsrPem(pemOf(der))).toThrow(/subject CN: byte 0xee is not ASCII/);
  });

  test('an RSA request whose signature bytes were changed fails too', () => {
    const der = derOf(opensslCsr('rsa2', ['-newkey', 'rsa:2048'], '/CN=system:node:z', 'DNS:z'));
    der[der.length - 1] = (der[der.length - 1] as number) ^ 0xff;
    expect(parseCsrPem(pemOf(der)).signatureValid).toBe(false);
  });

  test('garbage gives a CsrParseError saying what is wrong, never a raw RangeError', () => {
    const good = derOf(createCsr(newNodeKey().privateKey, 'system:node:n', ['system:nodes'], { dns: ['n'] }));
    const cases: [string, RegExp][] = [
      ['hello', /no PEM/],
      ['-----BEGIN CERTIFICATE REQUEST-----\n!!!\n-----END CERTIFICATE REQUEST-----', /base64/],
      [pemOf(Buffer.from([0x30])), /truncated/],
      [pemOf(Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff])), /runs past|truncated/],
      [pemOf(Buffer.from([0x30, 0x80, 0, 0])), /indefinite/],
      [pemOf(Buffer.from([0x04, 0x01, 0x00])), /expected tag 0x30/],
      [pemOf(good.subarray(0, good.length - 10)), /runs past/],
      [pemOf(Buffer.concat([good, Buffer.from([0])])), /trailing/],
    ];
    for (const [input, msg] of cases) {
      let err: unknown;
      try {
        parseCsrPem(input);
      } catch (e) {
        err = e;
      }
      expect(err, input.slice(0, 60)).toBeInstanceOf(CsrParseError);
      expect((err as Error).message).toMatch(msg);
    }
    // Random bytes of many lengths: always a CsrParseError, whatever the bytes happen to be.
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed & 0xff;
    };
    for (let i = 0; i < 300; i++) {
      const bytes = Buffer.from(Array.from({ length: 1 + (i % 40) }, rnd));
      if (i % 3 === 0) bytes[0] = 0x30;
      expect(() => parseCsrPem(pemOf(bytes))).toThrow(CsrParseError);
    }
    // Every truncation of a valid request is refused cleanly too.
    for (let n = 1; n < good.length; n += 7)
      expect(() => parseCsrPem(pemOf(good.subarray(0, n)))).toThrow(CsrParseError);
  });
});

test('normalizeIp gives one spelling per IPv6 address and leaves IPv4 alone', () => {
  expect(normalizeIp('FD00:0:0:0:0:0:0:1')).toBe('fd00::1');
  expect(normalizeIp('0:0:0:0:0:0:0:1')).toBe('::1');
  expect(normalizeIp('10.0.0.1')).toBe('10.0.0.1');
  expect(normalizeIp('not:an:ip::x')).toBe('not:an:ip::x');
});
