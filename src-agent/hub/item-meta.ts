/**
 * What the cache needs from one object of a LIST — its name, namespace and resourceVersion, and whether
 * it carries its own kind/apiVersion — read from the object's JSON bytes without parsing the object.
 * A JSON.parse of every item of every LIST (and its garbage) was the largest cost on the hub's response
 * path; the API server writes kind, apiVersion and metadata first (Go field order, or sorted keys for
 * custom resources), so the scan stops where metadata ends — or earlier, once the three are known —
 * and never walks the spec or status.
 */
import {
  BACKSLASH,
  CLOSE_ARR,
  CLOSE_OBJ,
  COLON,
  COMMA,
  isSpace,
  OPEN_ARR,
  OPEN_OBJ,
  QUOTE,
} from './json-bytes.ts';

export interface ItemMeta {
  name: string;
  namespace: string;
  resourceVersion: string;
  hasKind: boolean;
  hasApiVersion: boolean;
}

function skipSpace(b: Buffer, i: number): number {
  while (i < b.length) {
    if (!isSpace(b[i] as number)) return i;
    i++;
  }
  return i;
}

/** Index of the quote closing the string whose opening quote is at `i`, or -1. */
function stringEnd(b: Buffer, i: number): number {
  let q = b.indexOf(QUOTE, i + 1);
  while (q !== -1) {
    let n = 0;
    for (let k = q - 1; k > i && b[k] === BACKSLASH; k--) n++;
    if (n % 2 === 0) return q;
    q = b.indexOf(QUOTE, q + 1);
  }
  return -1;
}

/** The string at `i..end` (quotes included) decoded; escapes are rare in names, so JSON.parse only then. */
function decodeString(b: Buffer, i: number, end: number): string {
  const raw = b.subarray(i + 1, end);
  return raw.includes(BACKSLASH)
    ? (JSON.parse(b.toString('utf8', i, end + 1)) as string)
    : raw.toString('utf8');
}

/** Index just past the JSON value starting at `i`, or -1 when the bytes end first. */
function skipValue(b: Buffer, i: number): number {
  const c = b[i];
  if (c === QUOTE) {
    const e = stringEnd(b, i);
    return e === -1 ? -1 : e + 1;
  }
  if (c === OPEN_OBJ || c === OPEN_ARR) {
    let depth = 0;
    for (let k = i; k < b.length; k++) {
      const x = b[k];
      if (x === QUOTE) {
        k = stringEnd(b, k);
        if (k === -1) return -1;
      } else if (x === OPEN_OBJ || x === OPEN_ARR) depth++;
      else if (x === CLOSE_OBJ || x === CLOSE_ARR) {
        depth--;
        if (depth === 0) return k + 1;
      }
    }
    return -1;
  }
  // A number, true, false or null: up to the next delimiter.
  let k = i;
  while (k < b.length) {
    const x = b[k];
    if (
      x === COMMA ||
      x === CLOSE_OBJ ||
      x === CLOSE_ARR ||
      x === 0x20 ||
      x === 0x0a ||
      x === 0x0d ||
      x === 0x09
    )
      break;
    k++;
  }
  return k;
}

/**
 * Walks the members of the object whose `{` is at `i`, calling `member(key, valueStart)`; it answers
 * where the value ends, or 'stop' to end the walk early. Returns the index after the object, the index
 * where the walk stopped, or -1 for bytes that are not such an object.
 */
function members(b: Buffer, i: number, member: (key: string, at: number) => number | 'stop'): number {
  if (b[i] !== OPEN_OBJ) return -1;
  i = skipSpace(b, i + 1);
  if (b[i] === CLOSE_OBJ) return i + 1;
  for (;;) {
    if (b[i] !== QUOTE) return -1;
    const ke = stringEnd(b, i);
    if (ke === -1) return -1;
    const key = decodeString(b, i, ke);
    i = skipSpace(b, ke + 1);
    if (b[i] !== COLON) return -1;
    i = skipSpace(b, i + 1);
    const next = member(key, i);
    if (next === 'stop') return i;
    if (next === -1) return -1;
    i = skipSpace(b, next);
    if (b[i] === COMMA) i = skipSpace(b, i + 1);
    else if (b[i] === CLOSE_OBJ) return i + 1;
    else return -1;
  }
}

/** The item's identity from its bytes; undefined when they are not a JSON object with metadata. */
export function scanItemMeta(b: Buffer): ItemMeta | undefined {
  const m: ItemMeta = { name: '', namespace: '', resourceVersion: '', hasKind: false, hasApiVersion: false };
  let sawMetadata = false;
  const end = members(b, skipSpace(b, 0), (key, at) => {
    if (key === 'kind') m.hasKind = true;
    else if (key === 'apiVersion') m.hasApiVersion = true;
    else if (key === 'metadata' && b[at] === OPEN_OBJ) {
      sawMetadata = true;
      const after = members(b, at, (mk, v) => {
        if (b[v] === QUOTE && (mk === 'name' || mk === 'namespace' || mk === 'resourceVersion')) {
          const e = stringEnd(b, v);
          if (e === -1) return -1;
          m[mk] = decodeString(b, v, e);
          // Go writes name, namespace, uid, resourceVersion first: the rest (labels, managedFields) is
          // not walked once all three are known (cluster-scoped objects have no namespace to wait for).
          if (m.name !== '' && m.namespace !== '' && m.resourceVersion !== '') return 'stop';
          return e + 1;
        }
        return skipValue(b, v);
      });
      // Everything after metadata (spec, status) is of no interest.
      return after === -1 ? -1 : 'stop';
    }
    return skipValue(b, at);
  });
  return end === -1 || !sawMetadata ? undefined : m;
}

/**
 * The item's bytes as a stored object: list items come without kind/apiVersion, and an object served
 * alone needs them, so the list's are put in front (what the object has of its own is kept).
 */
export function withTypeMeta(b: Buffer, m: ItemMeta, apiVersion: string, kind: string): Buffer {
  if (m.hasKind && m.hasApiVersion) return b;
  let head = '{';
  if (!m.hasApiVersion) head += `"apiVersion":${JSON.stringify(apiVersion)},`;
  if (!m.hasKind) head += `"kind":${JSON.stringify(kind)},`;
  const open = skipSpace(b, 0);
  return Buffer.concat([Buffer.from(head), b.subarray(open + 1)]);
}
