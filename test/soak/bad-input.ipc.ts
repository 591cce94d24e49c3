/**
 * Bad input at the IPC boundary: one valid request per channel (so a generator can start from
 * something the contract accepts and break it), and the mutations that every validator must refuse.
 */
import fc from 'fast-check';
import { REQUEST_CHANNELS, REQUEST_SCHEMAS, type RequestChannel } from '../../src-main/ipc/contract.ts';
import { createIpcRouter, type IpcHandlers } from '../../src-main/ipc/router.ts';

const CLUSTER = 'default/kind-edge';
const PEM = `-----BEGIN CERTIFICATE-----\n${'MIIB'.repeat(16)}\n-----END CERTIFICATE-----\n`;
const STREAM = 's-0123456789abcdef';

/** A request each channel accepts; the test that every channel has one keeps this complete. */
export const VALID_REQUESTS: Record<RequestChannel, unknown> = {
  'vault:status': undefined,
  'vault:useSessionMemory': null,
  'clusters:listSources': {},
  'clusters:import': { path: '/home/me/.kube/config', name: 'Edge lab' },
  'clusters:removeSource': { sourceId: 'imported-0a1b' },
  'clusters:watch': { clusterId: CLUSTER },
  'clusters:unwatch': { clusterId: CLUSTER },
  'clusters:snapshot': { clusterId: CLUSTER },
  'vault:storeSecret': { kind: 'ssh-password', id: 'site-a.h1', value: 'hunter2' },
  'hosts:list': undefined,
  'hosts:add': {
    site: 'site-a',
    name: 'edge-1.site-a',
    address: '198.18.0.10',
    port: 22,
    user: 'root',
    auth: {
      kind: 'key',
      privateKeyRef: 'vault:ssh-private-key/site-a.edge-1',
      passphraseRef: 'vault:ssh-passphrase/x',
    },
    jumpHostId: 'site-a/bastion',
    viaTunnel: false,
  },
  'hosts:remove': { hostId: 'site-a/edge-1' },
  'tunnels:list': undefined,
  'tunnels:set': {
    site: 'site-a',
    door: { host: '198.18.0.2', port: 10263 },
    caPem: PEM,
    certPem: PEM,
    keyRef: 'vault:tunnel-client-key/site-a',
    serverName: 'tunnel.site-a',
  },
  'tunnels:remove': { site: 'site-a' },
  'hosts:checkHostKey': { hostId: 'site-a/edge-1' },
  'hosts:acceptHostKey': {
    host: '198.18.0.10',
    port: 22,
    keyType: 'ssh-ed25519',
    fingerprint: 'SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
  },
  'provision:runs': undefined,
  'provision:preflight': { clusterId: CLUSTER, hostIds: ['site-a/edge-1'], concurrency: 4 },
  'provision:convert': {
    clusterId: CLUSTER,
    hostIds: ['site-a/edge-1', 'site-a/edge-2'],
    runId: 'run-1',
    pool: 'site-a',
    autonomyDuration: '30m',
  },
  'provision:join': {
    clusterId: CLUSTER,
    hostIds: ['site-a/edge-3'],
    bootstrapTokenRef: 'vault:bootstrap-token/abcdef',
    pool: 'site-a',
  },
  'provision:revert': { clusterId: CLUSTER, hostIds: ['site-a/edge-1'] },
  'provision:upgrade': { hostIds: ['site-a/edge-1'], concurrency: 1 },
  'provision:cancel': { runId: 'run-1' },
  'demo:start': { nodes: 24 },
  'demo:status': undefined,
  'demo:stop': undefined,
  'fleet:capabilities': { clusterId: CLUSTER, namespace: 'default' },
  'fleet:nodepools:create': {
    clusterId: CLUSTER,
    name: 'site-a',
    type: 'Edge',
    labels: { 'edgefleet.io/site': 'a' },
    annotations: { 'example.com/note': 'any text' },
    taints: [{ key: 'edge', value: 'true', effect: 'NoSchedule' }],
    hostNetwork: false,
  },
  'fleet:nodepools:edit': { clusterId: CLUSTER, name: 'site-a', type: 'Cloud', labels: {} },
  'fleet:nodepools:delete': { clusterId: CLUSTER, name: 'site-a' },
  'fleet:nodes:assignPool': { clusterId: CLUSTER, nodes: ['edge-1', 'edge-2'], pool: null },
  'fleet:nodes:setAutonomy': { clusterId: CLUSTER, pool: 'site-a', duration: '1h30m' },
  'fleet:nodes:cordon': { clusterId: CLUSTER, nodes: ['edge-1'] },
  'fleet:nodes:uncordon': { clusterId: CLUSTER, nodes: ['edge-1'] },
  'fleet:drain:start': {
    clusterId: CLUSTER,
    node: 'edge-1',
    timeoutSeconds: 60,
    gracePeriodSeconds: 0,
    force: true,
  },
  'fleet:drain:cancel': { drainId: 'drain-1' },
  'fleet:drain:list': undefined,
  'fleet:yurtappsets:create': {
    clusterId: CLUSTER,
    namespace: 'default',
    name: 'web',
    image: 'nginx:1.27',
    replicas: 2,
    containerName: 'web',
    ports: [{ containerPort: 80, name: 'http', protocol: 'TCP' }],
    pools: ['site-a'],
    tweaks: [{ pools: ['site-a'], replicas: 3 }],
  },
  'fleet:yurtappsets:apply': {
    clusterId: CLUSTER,
    manifest: 'kind: YurtAppSet',
    namespace: 'default',
    force: false,
  },
  'fleet:yurtappsets:setImage': {
    clusterId: CLUSTER,
    namespace: 'default',
    name: 'web',
    image: 'nginx:1.28',
  },
  'fleet:yurtappsets:setPaused': { clusterId: CLUSTER, namespace: 'default', name: 'web', paused: true },
  'fleet:install:plan': { clusterId: CLUSTER, webhook: true },
  'fleet:install:apply': {
    clusterId: CLUSTER,
    image: 'edgefleet/agent:0.1',
    apiServerForPods: { host: '198.18.0.1', port: 6443 },
  },
  'events:watchObject': { clusterId: CLUSTER, kind: 'Pod', namespace: 'default', name: 'web-0' },
  'events:unwatchObject': { watchId: 'ev-0123456789abcdef' },
  'app:reportError': { view: 'Nodes', message: 'boom', stack: 'at x' },
  'streams:podLogs': { clusterId: CLUSTER, namespace: 'default', pod: 'web-0', follow: true, tailLines: 100 },
  'streams:exec': {
    clusterId: CLUSTER,
    namespace: 'default',
    pod: 'web-0',
    container: 'web',
    command: ['sh'],
    tty: true,
    size: { cols: 80, rows: 24 },
  },
  'streams:serviceLogs': { hostId: 'site-a/edge-1', unit: 'edgefleet-hub', lines: 200, grep: 'error' },
  'streams:write': { streamId: STREAM, data: 'ls\r', eof: false },
  'streams:resize': { streamId: STREAM, cols: 120, rows: 40 },
  'streams:ack': { streamId: STREAM, seq: 3 },
  'streams:close': { streamId: STREAM },
  'alerts:list': { clusterId: CLUSTER },
  'alerts:getRules': { clusterId: CLUSTER },
  'alerts:setRules': { clusterId: CLUSTER, rules: null },
};

/**
 * Fields that hold Kubernetes object names (DNS-1123 labels or subdomains, as the API server
 * validates them): a name the API server would refuse must be refused here, with our message.
 */
export const K8S_NAME_FIELDS: {
  channel: RequestChannel;
  path: (string | number)[];
  kind: 'label' | 'subdomain';
}[] = [
  { channel: 'hosts:add', path: ['name'], kind: 'subdomain' },
  { channel: 'tunnels:set', path: ['serverName'], kind: 'subdomain' },
  { channel: 'provision:convert', path: ['pool'], kind: 'subdomain' },
  { channel: 'fleet:capabilities', path: ['namespace'], kind: 'label' },
  { channel: 'fleet:nodepools:create', path: ['name'], kind: 'subdomain' },
  { channel: 'fleet:nodepools:delete', path: ['name'], kind: 'subdomain' },
  { channel: 'fleet:nodes:assignPool', path: ['nodes', 0], kind: 'subdomain' },
  { channel: 'fleet:nodes:assignPool', path: ['pool'], kind: 'subdomain' },
  { channel: 'fleet:nodes:cordon', path: ['nodes', 0], kind: 'subdomain' },
  { channel: 'fleet:drain:start', path: ['node'], kind: 'subdomain' },
  { channel: 'fleet:yurtappsets:create', path: ['namespace'], kind: 'label' },
  { channel: 'fleet:yurtappsets:create', path: ['pools', 0], kind: 'subdomain' },
  { channel: 'events:watchObject', path: ['name'], kind: 'subdomain' },
  { channel: 'events:watchObject', path: ['namespace'], kind: 'label' },
  { channel: 'streams:podLogs', path: ['namespace'], kind: 'label' },
  { channel: 'streams:podLogs', path: ['pod'], kind: 'subdomain' },
  { channel: 'streams:exec', path: ['container'], kind: 'label' },
];

/** A DNS-1123 label: 1–63 of [a-z0-9-], alphanumeric at both ends. */
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/).filter((s) => s.length <= 63);

/** Names the API server refuses, each with one defect (generated from a valid name). */
export function invalidK8sName(kind: 'label' | 'subdomain'): fc.Arbitrary<string> {
  const valid =
    kind === 'label' ? label : fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.'));
  const max = kind === 'label' ? 63 : 253;
  const defects: fc.Arbitrary<(s: string) => string>[] = [
    fc.constant((s: string) => `-${s}`),
    fc.constant((s: string) => `${s}-`),
    fc.constant((s: string) => `.${s}`),
    fc.constant((s: string) => `${s}.`),
    fc.constant((s: string) => s.toUpperCase() + (s === s.toUpperCase() ? 'A' : '')),
    fc.constant((s: string) => `${s}_x`),
    fc.constant((s: string) => `${s} x`),
    fc.constant((s: string) => `${s}/x`),
    fc.constant((s: string) => `${s}\u0000`),
    fc.constant((s: string) => s + 'a'.repeat(max + 1 - s.length > 0 ? max + 1 - s.length : 1)),
  ];
  if (kind === 'label') defects.push(fc.constant((s: string) => `${s}.x`));
  else
    defects.push(
      fc.constant((s: string) => `${s}..x`),
      fc.constant((s: string) => `${s}.-x`),
      fc.constant((s: string) => `${s}-.x`),
    );
  return fc.tuple(valid, fc.oneof(...defects)).map(([s, d]) => d(s));
}

export function setAt(root: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path as [string | number, ...(string | number)[]];
  if (Array.isArray(root)) {
    const copy: unknown[] = [...root];
    copy[head as number] = setAt(copy[head as number], rest, value);
    return copy;
  }
  const copy = { ...(root as Record<string, unknown>) };
  copy[head] = setAt(copy[head], rest, value);
  return copy;
}

/** Every path to a value inside a request (objects and arrays included, the root excluded). */
export function pathsOf(
  v: unknown,
  prefix: (string | number)[] = [],
): { path: (string | number)[]; value: unknown }[] {
  const out: { path: (string | number)[]; value: unknown }[] = [];
  if (Array.isArray(v))
    v.forEach((x, i) => {
      out.push({ path: [...prefix, i], value: x }, ...pathsOf(x, [...prefix, i]));
    });
  else if (v !== null && typeof v === 'object')
    for (const [k, x] of Object.entries(v))
      out.push({ path: [...prefix, k], value: x }, ...pathsOf(x, [...prefix, k]));
  return out;
}

/** A value of another type than `v`: no validator that accepted `v` takes it. */
function otherType(v: unknown): fc.Arbitrary<unknown> {
  const pool: fc.Arbitrary<unknown>[] = [];
  // Not a string for null either: a nullable name field may take almost any short string.
  if (typeof v !== 'string' && v !== null) pool.push(fc.string({ maxLength: 8 }));
  if (typeof v !== 'number') pool.push(fc.integer(), fc.constant(Number.NaN));
  if (typeof v === 'number') pool.push(fc.double({ noInteger: true }), fc.constant(Number.POSITIVE_INFINITY));
  if (typeof v !== 'boolean') pool.push(fc.boolean());
  if (!Array.isArray(v)) pool.push(fc.array(fc.integer(), { maxLength: 2 }));
  if (typeof v !== 'object' || v === null || Array.isArray(v)) pool.push(fc.constant({ x: 1 }));
  // null only for non-strings: some string fields are nullable (setAutonomy's duration, assignPool's pool).
  if (v !== null && typeof v !== 'string') pool.push(fc.constant(null));
  return fc.oneof(...pool);
}

/** An object key no schema knows, and no label/annotation map takes (a space is not in a qualified key). */
const UNKNOWN_KEY = fc.constantFrom('no such field', '__proto__ x', 'constructor ', 'x y');

/** A valid request broken in one place: a value of the wrong type, or a field no schema has. */
export const brokenRequest: fc.Arbitrary<{ channel: RequestChannel; input: unknown; what: string }> = fc
  .constantFrom(...REQUEST_CHANNELS)
  .chain((channel) => {
    const valid = VALID_REQUESTS[channel];
    const paths = pathsOf(valid);
    const unknownField = UNKNOWN_KEY.map((k) => ({
      channel,
      input: { ...(typeof valid === 'object' && valid !== null ? valid : {}), [k]: 1 },
      what: `unknown field ${JSON.stringify(k)}`,
    }));
    if (paths.length === 0) return unknownField;
    return fc.oneof(
      unknownField,
      fc.constantFrom(...paths).chain(({ path, value }) =>
        fc.oneof(
          otherType(value).map((bad) => ({
            channel,
            input: setAt(valid, path, bad),
            what: `${path.join('.')} = ${typeof bad}`,
          })),
          ...(typeof value === 'object' && value !== null && !Array.isArray(value)
            ? [
                UNKNOWN_KEY.map((k) => ({
                  channel,
                  input: setAt(valid, path, { ...value, [k]: 1 }),
                  what: `${path.join('.')} has unknown field ${JSON.stringify(k)}`,
                })),
              ]
            : []),
        ),
      ),
    );
  });

/** Anything a hostile renderer could send (JSON-able values, deep and wide). */
export const anyInput = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.anything({ maxDepth: 3, withNullPrototype: true, withMap: true, withSet: true, withDate: true }),
);

/** A router whose handlers all answer `handled`: only validation decides. */
export const acceptingRouter = createIpcRouter(
  new Proxy({} as IpcHandlers, { get: () => () => 'handled' }) as IpcHandlers,
);

export function check(channel: RequestChannel, input: unknown) {
  return REQUEST_SCHEMAS[channel](input);
}
