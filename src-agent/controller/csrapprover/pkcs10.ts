/**
 * Reads a PEM PKCS#10 certificate request (RFC 2986) far enough to judge a serving CSR: subject CN
 * and O, the SubjectAltName asked for in the extensionRequest attribute, and whether the request's
 * self-signature holds (proof the requester owns the key). A hand-written DER reader because Node's
 * crypto parses certificates but not requests, and the controller bundle carries no ASN.1 library.
 */
import { createPublicKey, verify } from 'node:crypto';
import {
  OID_CN,
  OID_ECDSA_SHA256,
  OID_EXTENSION_REQUEST,
  OID_O,
  OID_SUBJECT_ALT_NAME,
} from '../../api/pkcs10-oids.ts';

/** The request could not be read; `message` says where, so a Warning event can quote it. */
export class CsrParseError extends Error {
  constructor(message: string) {
    super(`certificate request: ${message}`);
    this.name = 'CsrParseError';
  }
}

export interface ParsedCsr {
  commonNames: string[];
  organizations: string[];
  dnsNames: string[];
  /** IPv4 dotted, IPv6 in RFC 5952 text (lower case, "::" compression). */
  ipAddresses: string[];
  /** SAN types other than DNS/IP that were present (e.g. "uri", "email"), one entry per name. */
  otherNameTypes: string[];
  /** The signature algorithm's name, or its OID when it is not one we know. */
  signatureAlgorithm: string;
  /** True only when the signature was checked and holds; see signatureProblem otherwise. */
  signatureValid: boolean;
  signatureProblem?: string;
}

interface Tlv {
  tag: number;
  /** Offset of the tag byte: the element's DER bytes are buf[start, end). */
  start: number;
  /** Offset of the content. */
  body: number;
  end: number;
}

const TAG_SEQUENCE = 0x30;
const TAG_SET = 0x31;
const TAG_OID = 0x06;
const TAG_INTEGER = 0x02;
const TAG_BIT_STRING = 0x03;
const TAG_OCTET_STRING = 0x04;
const TAG_BOOLEAN = 0x01;
const TAG_ATTRIBUTES = 0xa0;

/** Signature algorithms we verify: OID → node:crypto digest name (null: the key type fixes it). */
const SIGNATURE_ALGORITHMS: Record<string, { name: string; digest: string | null }> = {
  [OID_ECDSA_SHA256]: { name: 'ecdsa-with-SHA256', digest: 'sha256' },
  '1.2.840.10045.4.3.3': { name: 'ecdsa-with-SHA384', digest: 'sha384' },
  '1.2.840.10045.4.3.4': { name: 'ecdsa-with-SHA512', digest: 'sha512' },
  '1.2.840.113549.1.1.11': { name: 'sha256WithRSAEncryption', digest: 'sha256' },
  '1.2.840.113549.1.1.12': { name: 'sha384WithRSAEncryption', digest: 'sha384' },
  '1.2.840.113549.1.1.13': { name: 'sha512WithRSAEncryption', digest: 'sha512' },
  '1.3.101.112': { name: 'Ed25519', digest: null },
};

/** GeneralName context tags other than dNSName [2] and iPAddress [7] (RFC 5280 4.2.1.6). */
const OTHER_NAME_TYPES: Record<number, string> = {
  0: 'otherName',
  1: 'email',
  3: 'x400Address',
  4: 'directoryName',
  5: 'ediPartyName',
  6: 'uri',
  8: 'registeredID',
};

/** Reads one DER element at `at`, never past `limit`; every bound is checked so bad input throws CsrParseError. */
function readTlv(buf: Buffer, at: number, limit: number, what: string): Tlv {
  if (at + 2 > limit) throw new CsrParseError(`${what}: truncated at byte ${at}`);
  const tag = buf[at] as number;
  if ((tag & 0x1f) === 0x1f)
    throw new CsrParseError(`${what}: multi-byte tag at byte ${at} is not DER we expect`);
  let len = buf[at + 1] as number;
  let body = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new CsrParseError(`${what}: indefinite length at byte ${at} is not DER`);
    if (n > 4) throw new CsrParseError(`${what}: length of ${n} bytes at byte ${at} is too large`);
    if (body + n > limit) throw new CsrParseError(`${what}: truncated length at byte ${at}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[body + i] as number);
    body += n;
  }
  const end = body + len;
  if (end > limit) throw new CsrParseError(`${what}: element at byte ${at} runs past its container`);
  return { tag, start: at, body, end };
}

function expectTag(t: Tlv, tag: number, what: string): Tlv {
  if (t.tag !== tag)
    throw new CsrParseError(
      `${what}: expected tag 0x${tag.toString(16)}, found 0x${t.tag.toString(16)} at byte ${t.start}`,
    );
  return t;
}

/** The elements directly inside a constructed element. */
function children(buf: Buffer, parent: Tlv, what: string): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.body; at < parent.end; ) {
    const t = readTlv(buf, at, parent.end, what);
    out.push(t);
    at = t.end;
  }
  return out;
}

function readOid(buf: Buffer, t: Tlv, what: string): string {
  expectTag(t, TAG_OID, what);
  const bytes = buf.subarray(t.body, t.end);
  if (bytes.length === 0) throw new CsrParseError(`${what}: empty object identifier`);
  const arcs: number[] = [];
  let v = 0;
  for (const b of bytes) {
    v = v * 128 + (b & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER) throw new CsrParseError(`${what}: object identifier arc too large`);
    if (!(b & 0x80)) {
      arcs.push(v);
      v = 0;
    }
  }
  if ((bytes[bytes.length - 1] as number) & 0x80)
    throw new CsrParseError(`${what}: truncated object identifier`);
  const first = arcs.shift() as number;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs].join('.');
}

/** A directory string (UTF8String, PrintableString, IA5String, T61String, BMPString) as text. */
function readString(buf: Buffer, t: Tlv, what: string): string {
  const bytes = buf.subarray(t.body, t.end);
  switch (t.tag) {
    case 0x0c: // UTF8String
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    case 0x13: // PrintableString
    case 0x16: // IA5String
      return ia5(bytes, what);
    case 0x14: // T61String: treated as Latin-1, as Go and OpenSSL do in practice
      return bytes.toString('latin1');
    case 0x1e: // BMPString: UTF-16 big endian
      if (bytes.length % 2) throw new CsrParseError(`${what}: odd-length BMPString`);
      return Buffer.from(bytes).swap16().toString('utf16le');
    default:
      throw new CsrParseError(`${what}: unsupported string type 0x${t.tag.toString(16)}`);
  }
}

/**
 * IA5 (ASCII) text, refused when a byte has the high bit set: Buffer's 'ascii' decoding clears that
 * bit, so 0xEE would read as 'n' and a name nobody signed for ("\xEEode-1" as "node-1") could be approved.
 */
function ia5(bytes: Buffer, what: string): string {
  const i = bytes.findIndex((b) => b > 0x7f);
  if (i >= 0)
    throw new CsrParseError(`${what}: byte 0x${(bytes[i] as number).toString(16)} is not ASCII (IA5)`);
  return bytes.toString('latin1');
}

/** The 16 address bytes of an IPv6 SAN as normalizeIp spells it. */
function ipv6Text(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return normalizeIp(groups.join(':'));
}

/**
 * One spelling per address so a SAN and a Node address compare as strings: IPv4 stays dotted, IPv6
 * goes to RFC 5952 text (lower case, longest zero run as "::", as the WHATWG URL parser writes it). Anything else is returned unchanged (and then matches nothing it should not).
 */
export function normalizeIp(ip: string): string {
  if (!ip.includes(':')) return ip;
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip;
  }
}

function readSubject(buf: Buffer, name: Tlv, out: ParsedCsr): void {
  expectTag(name, TAG_SEQUENCE, 'subject');
  for (const rdn of children(buf, name, 'subject')) {
    expectTag(rdn, TAG_SET, 'subject RDN');
    for (const atv of children(buf, rdn, 'subject attribute')) {
      expectTag(atv, TAG_SEQUENCE, 'subject attribute');
      const [type, value] = children(buf, atv, 'subject attribute');
      if (!type || !value) throw new CsrParseError('subject attribute: needs a type and a value');
      const oid = readOid(buf, type, 'subject attribute type');
      if (oid === OID_CN) out.commonNames.push(readString(buf, value, 'subject CN'));
      else if (oid === OID_O) out.organizations.push(readString(buf, value, 'subject O'));
    }
  }
}

function readSubjectAltName(buf: Buffer, names: Tlv, out: ParsedCsr): void {
  expectTag(names, TAG_SEQUENCE, 'subjectAltName');
  for (const gn of children(buf, names, 'subjectAltName entry')) {
    const n = gn.tag & 0x1f;
    if ((gn.tag & 0xc0) !== 0x80)
      throw new CsrParseError(`subjectAltName entry: tag 0x${gn.tag.toString(16)} is not a GeneralName`);
    const bytes = buf.subarray(gn.body, gn.end);
    if (n === 2) out.dnsNames.push(ia5(bytes, 'subjectAltName dNSName'));
    else if (n === 7 && bytes.length === 4) out.ipAddresses.push([...bytes].join('.'));
    else if (n === 7 && bytes.length === 16) out.ipAddresses.push(ipv6Text(bytes));
    else if (n === 7) out.otherNameTypes.push(`ip(${bytes.length} bytes)`);
    else out.otherNameTypes.push(OTHER_NAME_TYPES[n] ?? `tag${n}`);
  }
}

function readAttributes(buf: Buffer, attrs: Tlv, out: ParsedCsr): void {
  for (const attr of children(buf, attrs, 'attribute')) {
    expectTag(attr, TAG_SEQUENCE, 'attribute');
    const [type, values] = children(buf, attr, 'attribute');
    if (!type || !values) throw new CsrParseError('attribute: needs a type and values');
    if (readOid(buf, type, 'attribute type') !== OID_EXTENSION_REQUEST) continue;
    expectTag(values, TAG_SET, 'extensionRequest values');
    for (const exts of children(buf, values, 'extensionRequest')) {
      expectTag(exts, TAG_SEQUENCE, 'extensions');
      for (const ext of children(buf, exts, 'extension')) {
        expectTag(ext, TAG_SEQUENCE, 'extension');
        const parts = children(buf, ext, 'extension');
        const id = parts[0];
        if (!id) throw new CsrParseError('extension: empty');
        if (parts.length < 2 || parts.length > 3)
          throw new CsrParseError('extension: wrong number of fields');
        const value = parts[parts.length - 1] as Tlv;
        if (parts.length === 3) expectTag(parts[1] as Tlv, TAG_BOOLEAN, 'extension critical flag');
        if (readOid(buf, id, 'extension id') !== OID_SUBJECT_ALT_NAME) continue;
        expectTag(value, TAG_OCTET_STRING, 'subjectAltName value');
        // Several SAN extensions are all collected, so a check over every name sees each of them.
        readSubjectAltName(buf, readTlv(buf, value.body, value.end, 'subjectAltName'), out);
      }
    }
  }
}

function checkSignature(buf: Buffer, info: Tlv, spki: Tlv, algOid: string, sig: Buffer): string | undefined {
  const alg = SIGNATURE_ALGORITHMS[algOid];
  if (!alg) return `signature algorithm ${algOid} is not supported (use ECDSA, RSA PKCS#1 v1.5 or Ed25519)`;
  let key: ReturnType<typeof createPublicKey>;
  try {
    key = createPublicKey({ key: buf.subarray(spki.start, spki.end), format: 'der', type: 'spki' });
  } catch (e) {
    return `public key cannot be read: ${(e as Error).message}`;
  }
  try {
    // ECDSA signatures are DER (r, s) in a request, which is crypto.verify's default encoding.
    const ok = verify(alg.digest, buf.subarray(info.start, info.end), key, sig);
    return ok
      ? undefined
      : 'the self-signature does not match the request (altered, or signed with another key)';
  } catch (e) {
    return `signature cannot be checked: ${(e as Error).message}`;
  }
}

/** The DER bytes inside a PEM "CERTIFICATE REQUEST" (or "NEW CERTIFICATE REQUEST") block. */
function pemBody(pem: string): Buffer {
  const m =
    /-----BEGIN (NEW )?CERTIFICATE REQUEST-----([\s\S]*?)-----END (NEW )?CERTIFICATE REQUEST-----/.exec(pem);
  if (!m) throw new CsrParseError('no PEM "CERTIFICATE REQUEST" block found');
  const b64 = (m[2] as string).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw new CsrParseError('PEM block is not valid base64');
  const der = Buffer.from(b64, 'base64');
  if (der.length === 0) throw new CsrParseError('PEM block is empty');
  return der;
}

/** Parses a PEM PKCS#10 request and checks its self-signature. Throws CsrParseError, never anything else. */
export function parseCsrPem(pem: string): ParsedCsr {
  try {
    return parseDer(pemBody(pem));
  } catch (e) {
    if (e instanceof CsrParseError) throw e;
    throw new CsrParseError(`unreadable: ${(e as Error).message}`);
  }
}

function parseDer(buf: Buffer): ParsedCsr {
  const top = expectTag(
    readTlv(buf, 0, buf.length, 'CertificationRequest'),
    TAG_SEQUENCE,
    'CertificationRequest',
  );
  if (top.end !== buf.length)
    throw new CsrParseError(`${buf.length - top.end} trailing bytes after the request`);
  const [info, algId, sigBits] = children(buf, top, 'CertificationRequest');
  if (!info || !algId || !sigBits)
    throw new CsrParseError('CertificationRequest: needs info, algorithm and signature');
  expectTag(info, TAG_SEQUENCE, 'CertificationRequestInfo');
  const [version, subject, spki, attrs] = children(buf, info, 'CertificationRequestInfo');
  if (!version || !subject || !spki) throw new CsrParseError('CertificationRequestInfo: missing fields');
  expectTag(version, TAG_INTEGER, 'version');
  if (version.end - version.body !== 1 || buf[version.body] !== 0)
    throw new CsrParseError('version: only v1 (0) requests exist');
  expectTag(spki, TAG_SEQUENCE, 'subjectPublicKeyInfo');

  const out: ParsedCsr = {
    commonNames: [],
    organizations: [],
    dnsNames: [],
    ipAddresses: [],
    otherNameTypes: [],
    signatureAlgorithm: '',
    signatureValid: false,
  };
  readSubject(buf, subject, out);
  if (attrs) readAttributes(buf, expectTag(attrs, TAG_ATTRIBUTES, 'attributes'), out);

  expectTag(algId, TAG_SEQUENCE, 'signatureAlgorithm');
  const [algOidTlv] = children(buf, algId, 'signatureAlgorithm');
  if (!algOidTlv) throw new CsrParseError('signatureAlgorithm: empty');
  const algOid = readOid(buf, algOidTlv, 'signatureAlgorithm');
  out.signatureAlgorithm = SIGNATURE_ALGORITHMS[algOid]?.name ?? algOid;
  expectTag(sigBits, TAG_BIT_STRING, 'signature');
  if (sigBits.end - sigBits.body < 2 || buf[sigBits.body] !== 0)
    throw new CsrParseError('signature: empty or not whole bytes');
  const problem = checkSignature(buf, info, spki, algOid, buf.subarray(sigBits.body + 1, sigBits.end));
  out.signatureValid = problem === undefined;
  if (problem) out.signatureProblem = problem;
  return out;
}
