/**
 * Parses one kubeconfig file into its own KubeConfig (never merged with another source, so
 * same-named users/contexts in two files cannot collide), with errors that name the file and
 * the problem.
 */
import { dirname } from 'node:path';
import { KubeConfig, loadYaml, type User } from '@kubernetes/client-node';
import { AppError } from '../ipc/errors.ts';
import type { ClusterContextInfo } from '../ipc/types.ts';

const FIX =
  'Fix the file (kubectl config view --kubeconfig <file> shows what kubectl makes of it) or choose another one.';

function invalid(file: string, problem: string): AppError {
  return new AppError('kubeconfig/invalid', `Kubeconfig ${file} is malformed: ${problem}`, FIX);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What a value is, for an error message: never the value of a field that may hold a credential. */
function kindOf(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'a mapping' : `a ${typeof v}`;
}

/** A server URL as an error may show it: user:password@ masked, cut short. */
function shownServer(server: unknown): string {
  if (typeof server !== 'string') return kindOf(server);
  const masked = server.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#]*@/, '$1***@');
  return JSON.stringify(masked.length > 120 ? `${masked.slice(0, 120)}…` : masked);
}

/**
 * Field types as kubectl decodes them (it refuses the file otherwise); client-node takes any YAML value,
 * so a token written as a list was imported and sent as a list.
 */
const STRING_FIELDS = {
  user: [
    'token',
    'tokenFile',
    'client-certificate',
    'client-certificate-data',
    'client-key',
    'client-key-data',
    'username',
    'password',
    'as',
  ],
  cluster: ['certificate-authority', 'certificate-authority-data', 'tls-server-name', 'proxy-url'],
  context: ['namespace'],
} as const;

function checkFieldTypes(
  file: string,
  where: string,
  inner: 'user' | 'cluster' | 'context',
  v: Record<string, unknown>,
): void {
  for (const f of STRING_FIELDS[inner])
    if (v[f] !== undefined && v[f] !== null && typeof v[f] !== 'string')
      throw invalid(file, `${where}.${f} must be a string, got ${kindOf(v[f])}`);
  if (inner === 'cluster') {
    const skip = v['insecure-skip-tls-verify'];
    if (skip !== undefined && skip !== null && typeof skip !== 'boolean')
      throw invalid(file, `${where}.insecure-skip-tls-verify must be true or false, got ${kindOf(skip)}`);
  }
  if (inner !== 'user') return;
  const exec = v.exec;
  if (exec !== undefined && exec !== null) {
    if (!isRecord(exec)) throw invalid(file, `${where}.exec must be a mapping, got ${kindOf(exec)}`);
    if (typeof exec.command !== 'string' || exec.command === '')
      throw invalid(file, `${where}.exec.command must be a command name`);
    if (
      exec.args !== undefined &&
      exec.args !== null &&
      !(Array.isArray(exec.args) && exec.args.every((a) => typeof a === 'string'))
    )
      throw invalid(file, `${where}.exec.args must be a list of strings`);
    if (
      exec.env !== undefined &&
      exec.env !== null &&
      !(
        Array.isArray(exec.env) &&
        exec.env.every((e) => isRecord(e) && typeof e.name === 'string' && typeof e.value === 'string')
      )
    )
      throw invalid(file, `${where}.exec.env must be a list of name/value mappings`);
  }
  const provider = v['auth-provider'];
  if (
    provider !== undefined &&
    provider !== null &&
    !(isRecord(provider) && typeof provider.name === 'string')
  )
    throw invalid(file, `${where}.auth-provider must be a mapping with a name`);
}

/**
 * The YAML parser's complaint without the file text it quotes: in a damaged file that text can be a
 * token (`token: *abc…` is read as an alias and reported as 'unidentified alias "abc…"').
 */
function yamlProblem(message: string): string {
  return (message.split('\n')[0] ?? '')
    .replace(/"[^"]*"/g, '"…"')
    .replace(/'[^']*'/g, "'…'")
    .replace(/!<[^>]*>/g, '!<…>');
}

/** Structural checks client-node does not do (or reports without saying which file). */
function checkShape(raw: unknown, file: string): void {
  if (!isRecord(raw))
    throw invalid(
      file,
      'the top level must be a mapping (apiVersion, kind: Config, clusters, users, contexts)',
    );
  if (raw.kind !== undefined && raw.kind !== 'Config')
    throw invalid(file, `kind is ${JSON.stringify(raw.kind)}, expected "Config"`);
  const names: Record<string, Set<string>> = {};
  for (const [list, inner] of [
    ['clusters', 'cluster'],
    ['users', 'user'],
    ['contexts', 'context'],
  ] as const) {
    const entries = raw[list];
    names[list] = new Set();
    if (entries === undefined || entries === null) continue;
    if (!Array.isArray(entries)) throw invalid(file, `${list} must be a list`);
    entries.forEach((e, i) => {
      if (!isRecord(e)) throw invalid(file, `${list}[${i}] must be a mapping`);
      if (typeof e.name !== 'string' || e.name === '') throw invalid(file, `${list}[${i}].name is missing`);
      if (names[list]?.has(e.name))
        throw invalid(file, `${list} has two entries named ${JSON.stringify(e.name)}`);
      names[list]?.add(e.name);
      const body = e[inner];
      if (!isRecord(body)) throw invalid(file, `${list}[${i}] (${e.name}) has no ${inner} mapping`);
      checkFieldTypes(file, `${list}[${i}] (${e.name}).${inner}`, inner, body);
    });
  }
  for (const c of (raw.clusters as Record<string, Record<string, unknown>>[] | undefined) ?? []) {
    const server = c.cluster?.server;
    if (typeof server !== 'string' || !/^https?:\/\/[^\s]+$/.test(server)) {
      throw invalid(
        file,
        `cluster ${JSON.stringify(c.name)} has no valid server URL (got ${shownServer(server)})`,
      );
    }
  }
  for (const c of (raw.contexts as Record<string, Record<string, unknown>>[] | undefined) ?? []) {
    const ctx = c.context ?? {};
    if (typeof ctx.cluster !== 'string' || !names.clusters?.has(ctx.cluster)) {
      throw invalid(
        file,
        `context ${JSON.stringify(c.name)} refers to cluster ${JSON.stringify(ctx.cluster ?? null)}, which is not defined`,
      );
    }
    if (typeof ctx.user !== 'string' || !names.users?.has(ctx.user)) {
      throw invalid(
        file,
        `context ${JSON.stringify(c.name)} refers to user ${JSON.stringify(ctx.user ?? null)}, which is not defined`,
      );
    }
  }
}

export function parseKubeconfig(text: string, file: string): KubeConfig {
  let raw: unknown;
  try {
    raw = loadYaml(text);
  } catch (e) {
    throw invalid(file, `not valid YAML: ${yamlProblem((e as Error).message)}`);
  }
  checkShape(raw, file);
  const kc = new KubeConfig();
  try {
    kc.loadFromString(text, { onInvalidEntry: 'throw' });
  } catch (e) {
    throw invalid(file, (e as Error).message);
  }
  // Relative certificate-authority / client-certificate paths are relative to the file, as in kubectl.
  kc.makePathsAbsolute(dirname(file));
  return kc;
}

export function authKind(
  user: Pick<User, 'certData' | 'certFile' | 'token' | 'username' | 'exec' | 'authProvider'> | null,
): ClusterContextInfo['auth'] {
  if (!user) return 'none';
  if (user.exec) return 'exec';
  if (user.authProvider) return 'auth-provider';
  if (user.token) return 'token';
  if (user.certData || user.certFile) return 'client-certificate';
  if (user.username) return 'basic';
  return 'none';
}

export function clusterId(sourceId: string, context: string): string {
  return `${sourceId}/${context}`;
}

/** Splits at the first slash: source ids never contain one, context names may. */
export function splitClusterId(id: string): { sourceId: string; context: string } | null {
  const i = id.indexOf('/');
  if (i <= 0 || i === id.length - 1) return null;
  return { sourceId: id.slice(0, i), context: id.slice(i + 1) };
}

export function describeContexts(kc: KubeConfig, sourceId: string): ClusterContextInfo[] {
  return kc.getContexts().map((ctx) => {
    const cluster = kc.getCluster(ctx.cluster);
    const user = kc.getUser(ctx.user);
    const info: ClusterContextInfo = {
      clusterId: clusterId(sourceId, ctx.name),
      context: ctx.name,
      cluster: ctx.cluster,
      user: ctx.user,
      server: cluster?.server ?? '',
      auth: authKind(user),
    };
    if (ctx.namespace) info.namespace = ctx.namespace;
    return info;
  });
}
