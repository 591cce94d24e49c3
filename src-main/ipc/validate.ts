/**
 * Small hand-made runtime validators for IPC input. The renderer is untrusted, so every
 * request is checked against one of these before a handler sees it. A validator returns the
 * value typed, or a path-qualified reason; no exceptions, no dependency.
 */
export type Check<T> = { ok: true; value: T } | { ok: false; reason: string };
export type Validator<T> = (input: unknown, path?: string) => Check<T>;
export type Infer<V> = V extends Validator<infer T> ? T : never;

const good = <T>(value: T): Check<T> => ({ ok: true, value });
const bad = (path: string, reason: string): Check<never> => ({
  ok: false,
  reason: `${path || 'input'}: ${reason}`,
});

export interface StringRules {
  min?: number;
  max?: number;
  pattern?: RegExp;
  /** Refuse C0 control characters and DEL (NUL in a path, escape sequences in a name). */
  printable?: boolean;
}

function hasControlChar(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

export function str(rules: StringRules = {}): Validator<string> {
  const max = rules.max ?? 4096;
  return (input, path = '') => {
    if (typeof input !== 'string') return bad(path, `expected a string, got ${describe(input)}`);
    if (input.length < (rules.min ?? 0)) return bad(path, `must be at least ${rules.min} characters`);
    if (input.length > max) return bad(path, `must be at most ${max} characters`);
    if (rules.pattern && !rules.pattern.test(input)) return bad(path, `does not match ${rules.pattern}`);
    if (rules.printable && hasControlChar(input)) return bad(path, 'must not contain control characters');
    return good(input);
  };
}

export function int(rules: { min?: number; max?: number } = {}): Validator<number> {
  return (input, path = '') => {
    if (typeof input !== 'number' || !Number.isInteger(input))
      return bad(path, `expected an integer, got ${describe(input)}`);
    if (rules.min !== undefined && input < rules.min) return bad(path, `must be ≥ ${rules.min}`);
    if (rules.max !== undefined && input > rules.max) return bad(path, `must be ≤ ${rules.max}`);
    return good(input);
  };
}

export function bool(): Validator<boolean> {
  return (input, path = '') =>
    typeof input === 'boolean' ? good(input) : bad(path, `expected a boolean, got ${describe(input)}`);
}

export function literal<const T extends string | number | boolean>(...values: T[]): Validator<T> {
  return (input, path = '') =>
    values.includes(input as T)
      ? good(input as T)
      : bad(path, `expected one of ${values.map((v) => JSON.stringify(v)).join(', ')}`);
}

export function optional<T>(inner: Validator<T>): Validator<T | undefined> {
  return (input, path = '') => (input === undefined ? good(undefined) : inner(input, path));
}

export function array<T>(item: Validator<T>, rules: { min?: number; max?: number } = {}): Validator<T[]> {
  const max = rules.max ?? 10_000;
  return (input, path = '') => {
    if (!Array.isArray(input)) return bad(path, `expected an array, got ${describe(input)}`);
    if (input.length > max) return bad(path, `at most ${max} items`);
    if (input.length < (rules.min ?? 0)) return bad(path, `at least ${rules.min} items`);
    const out: T[] = [];
    for (let i = 0; i < input.length; i++) {
      const r = item(input[i], `${path}[${i}]`);
      if (!r.ok) return r;
      out.push(r.value);
    }
    return good(out);
  };
}

export function nullable<T>(inner: Validator<T>): Validator<T | null> {
  return (input, path = '') => (input === null ? good(null) : inner(input, path));
}

/** A plain object used as a map (labels, annotations): every key and value checked. */
export function record<V>(
  key: Validator<string>,
  value: Validator<V>,
  rules: { max?: number } = {},
): Validator<Record<string, V>> {
  const max = rules.max ?? 1000;
  return (input, path = '') => {
    if (typeof input !== 'object' || input === null || Array.isArray(input))
      return bad(path, `expected an object, got ${describe(input)}`);
    const proto = Object.getPrototypeOf(input);
    if (proto !== Object.prototype && proto !== null) return bad(path, 'expected a plain object');
    const entries = Object.entries(input as Record<string, unknown>);
    if (entries.length > max) return bad(path, `at most ${max} entries`);
    const out: Record<string, V> = {};
    for (const [k, v] of entries) {
      const kp = `${path}[${JSON.stringify(k)}]`;
      const kr = key(k, kp);
      if (!kr.ok) return kr;
      const vr = value(v, kp);
      if (!vr.ok) return vr;
      out[k] = vr.value;
    }
    return good(out);
  };
}

/** A validator plus a cross-field rule; `rule` returns the reason when the value is refused. */
export function refine<T>(inner: Validator<T>, rule: (value: T) => string | undefined): Validator<T> {
  return (input, path = '') => {
    const r = inner(input, path);
    if (!r.ok) return r;
    const why = rule(r.value);
    return why ? bad(path, why) : r;
  };
}

type Shape = Record<string, Validator<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: undefined extends Infer<S[K]> ? K : never }[keyof S];
type RequiredKeys<S extends Shape> = Exclude<keyof S, OptionalKeys<S>>;
export type ObjectOf<S extends Shape> = { [K in RequiredKeys<S>]: Infer<S[K]> } & {
  [K in OptionalKeys<S>]?: Infer<S[K]>;
};

/** A plain object with exactly these keys; unknown keys are refused (they are a sign of a confused or hostile caller). */
export function object<S extends Shape>(shape: S): Validator<ObjectOf<S>> {
  return (input, path = '') => {
    if (typeof input !== 'object' || input === null || Array.isArray(input))
      return bad(path, `expected an object, got ${describe(input)}`);
    const proto = Object.getPrototypeOf(input);
    if (proto !== Object.prototype && proto !== null) return bad(path, 'expected a plain object');
    const record = input as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (!Object.hasOwn(shape, key)) return bad(path, `unknown field ${JSON.stringify(key)}`);
    }
    const out: Record<string, unknown> = {};
    for (const [key, check] of Object.entries(shape)) {
      const r = check(record[key], path ? `${path}.${key}` : key);
      if (!r.ok) return r;
      if (r.value !== undefined) out[key] = r.value;
    }
    return good(out as ObjectOf<S>);
  };
}

/** The empty request: `undefined`, `null` or `{}`. */
export function none(): Validator<undefined> {
  return (input, path = '') => {
    if (input === undefined || input === null) return good(undefined);
    if (typeof input === 'object' && !Array.isArray(input) && Object.keys(input).length === 0)
      return good(undefined);
    return bad(path, 'this channel takes no input');
  };
}

function describe(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'an array';
  return typeof input;
}
