import { createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { isIPv4 } from 'node:net';
import {
  OID_CN,
  OID_ECDSA_SHA256,
  OID_EXTENSION_REQUEST,
  OID_O,
  OID_SUBJECT_ALT_NAME,
} from '../api/pkcs10-oids.ts';

/** Minimal DER writer: just what a PKCS#10 certificate request needs. */
function der(tag: number, body: Buffer): Buffer {
  const n = body.length;
  let len: Buffer;
  if (n < 0x80) len = Buffer.from([n]);
  else if (n < 0x100) len = Buffer.from([0x81, n]);
  else if (n < 0x10000) len = Buffer.from([0x82, n >> 8, n & 0xff]);
  else len = Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
}
const seq = (...parts: Buffer[]) => der(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]) => der(0x31, Buffer.concat(parts));

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [a * 40 + b];
  for (const v of rest) {
    const chunk = [v & 0x7f];
    for (let x = v >> 7; x > 0; x >>= 7) chunk.unshift((x & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return der(0x06, Buffer.from(bytes));
}

function rdn(type: string, value: string): Buffer {
  return set(seq(oid(type), der(0x0c, Buffer.from(value, 'utf8'))));
}

/** SubjectAltName entries for a serving certificate. */
export interface AltNames {
  ips?: string[];
  dns?: string[];
}

function altNamesExtension(alt: AltNames): Buffer {
  const names: Buffer[] = [];
  for (const d of alt.dns ?? []) names.push(der(0x82, Buffer.from(d, 'ascii')));
  for (const ip of alt.ips ?? []) {
    if (!isIPv4(ip)) throw new Error(`only IPv4 SANs are supported, got ${ip}`);
    names.push(der(0x87, Buffer.from(ip.split('.').map(Number))));
  }
  const ext = seq(oid(OID_SUBJECT_ALT_NAME), der(0x04, seq(...names)));
  return seq(oid(OID_EXTENSION_REQUEST), set(seq(ext)));
}

/**
 * A PEM PKCS#10 request signed with an EC P-256 key: subject `O=<orgs>, CN=<cn>`, optional SANs.
 * Hand-encoded because Node's crypto makes keys and signatures but not requests, and nodes should not
 * need the openssl CLI.
 */
export function createCsr(key: KeyObject, cn: string, orgs: string[], alt?: AltNames): string {
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const subject = seq(...orgs.map((o) => rdn(OID_O, o)), rdn(OID_CN, cn));
  const attrs =
    alt && ((alt.ips?.length ?? 0) > 0 || (alt.dns?.length ?? 0) > 0)
      ? altNamesExtension(alt)
      : Buffer.alloc(0);
  const info = seq(der(0x02, Buffer.from([0])), subject, spki, der(0xa0, attrs));
  const sig = sign('sha256', info, key);
  const req = seq(info, seq(oid(OID_ECDSA_SHA256)), der(0x03, Buffer.concat([Buffer.from([0]), sig])));
  const b64 = req.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN CERTIFICATE REQUEST-----\n${b64.trimEnd()}\n-----END CERTIFICATE REQUEST-----\n`;
}

/** A fresh EC P-256 key pair for a node certificate. */
export function newNodeKey(): { privateKey: KeyObject; pem: string } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { privateKey, pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}
