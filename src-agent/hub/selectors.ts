/**
 * Label and field selectors, so a LIST served from cache answers exactly what the API server would.
 * Grammar as in k8s.io/apimachinery: comma-separated requirements; labels support
 * `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`; fields support `=`, `==`, `!=`.
 */

export type LabelOp = 'exists' | 'notexists' | 'eq' | 'neq' | 'in' | 'notin';

export interface LabelRequirement {
  key: string;
  op: LabelOp;
  values: string[];
}

export interface FieldRequirement {
  path: string;
  op: 'eq' | 'neq';
  value: string;
}

/** A selector string the hub cannot parse; answered as 400 like the API server does. */
export class SelectorError extends Error {
  constructor(selector: string, problem: string) {
    super(`invalid selector "${selector}": ${problem}`);
    this.name = 'SelectorError';
  }
}

/** Splits at commas outside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((p) => p.trim()).filter((p) => p !== '');
}

const KEY = '[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?';
const VALUE = '[A-Za-z0-9._-]*';
const SET_RE = new RegExp(String.raw`^(${KEY})\s+(in|notin)\s*\(([^)]*)\)$`);
const CMP_RE = new RegExp(String.raw`^(${KEY})\s*(==|!=|=)\s*(${VALUE})$`);
const EXISTS_RE = new RegExp(String.raw`^(!?)\s*(${KEY})$`);

export function parseLabelSelector(selector: string): LabelRequirement[] {
  return splitTop(selector).map((part) => {
    let m = SET_RE.exec(part);
    if (m) {
      const values = (m[4] ?? '').split(',').map((v) => v.trim());
      if (values.some((v) => !new RegExp(`^${VALUE}$`).test(v)))
        throw new SelectorError(selector, `bad value in "${part}"`);
      return { key: m[1] ?? '', op: m[3] === 'in' ? 'in' : 'notin', values };
    }
    m = CMP_RE.exec(part);
    if (m) return { key: m[1] ?? '', op: m[3] === '!=' ? 'neq' : 'eq', values: [m[4] ?? ''] };
    m = EXISTS_RE.exec(part);
    if (m) return { key: m[2] ?? '', op: m[1] === '!' ? 'notexists' : 'exists', values: [] };
    throw new SelectorError(selector, `cannot parse "${part}"`);
  });
}

export function matchesLabels(
  reqs: readonly LabelRequirement[],
  labels: Record<string, string> | undefined,
): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.hasOwn(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case 'exists':
        return has;
      case 'notexists':
        return !has;
      case 'eq':
        return has && v === r.values[0];
      // As the API server: != and notin also match objects without the label.
      case 'neq':
        return !has || v !== r.values[0];
      case 'in':
        return has && r.values.includes(v ?? '');
      case 'notin':
        return !has || !r.values.includes(v ?? '');
    }
    return false;
  });
}

export function parseFieldSelector(selector: string): FieldRequirement[] {
  return splitTop(selector).map((part) => {
    const m = /^([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*)$/.exec(part);
    if (!m) throw new SelectorError(selector, `cannot parse "${part}"`);
    return { path: m[1] ?? '', op: m[2] === '!=' ? 'neq' : 'eq', value: m[3] ?? '' };
  });
}

function fieldValue(obj: unknown, path: string): string {
  let cur: unknown = obj;
  for (const p of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return '';
    cur = (cur as Record<string, unknown>)[p];
  }
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'string' ? cur : String(cur);
}

/** Field selectors over dotted paths (metadata.name, metadata.namespace, spec.nodeName, status.phase, …). */
export function matchesFields(reqs: readonly FieldRequirement[], obj: unknown): boolean {
  return reqs.every((r) => (fieldValue(obj, r.path) === r.value) === (r.op === 'eq'));
}

/** A request's scope (namespace + selectors) as one predicate over objects. */
export interface ListScope {
  namespace: string;
  labels: LabelRequirement[];
  fields: FieldRequirement[];
}

export function scopeFromQuery(namespace: string, query: URLSearchParams): ListScope {
  return {
    namespace,
    labels: parseLabelSelector(query.get('labelSelector') ?? ''),
    fields: parseFieldSelector(query.get('fieldSelector') ?? ''),
  };
}

interface Meta {
  metadata?: { namespace?: string; labels?: Record<string, string> };
}

export function inScope(scope: ListScope, obj: unknown): boolean {
  const m = (obj as Meta).metadata ?? {};
  if (scope.namespace !== '' && (m.namespace ?? '') !== scope.namespace) return false;
  return matchesLabels(scope.labels, m.labels) && matchesFields(scope.fields, obj);
}
