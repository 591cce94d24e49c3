/**
 * The bad-input properties (issue 15, scenario 5), shared by the unit test (few runs, fixed seed,
 * in `npm test`) and `npm run soak -- bad-input` (many runs, any seed). Each property states one
 * promise a parser at a trust boundary makes: it does not crash (it answers with an error value, or
 * throws only its documented error type), it refuses what the schema forbids, and its errors never
 * carry a secret it was given.
 */
import { generateKeyPairSync } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { type NodeReport, parseNodeReport } from '../../src-agent/api/node-report.ts';
import { objectKey, splitKey } from '../../src-agent/api/object-key.ts';
import { CsrParseError, parseCsrPem } from '../../src-agent/controller/csrapprover/pkcs10.ts';
import { CacheKeyError, loadOrCreateCacheKey } from '../../src-agent/hub/cache-key.ts';
import { createCsr } from '../../src-agent/hub/csr.ts';
import { parseRequestInfo } from '../../src-agent/hub/request-info.ts';
import {
  type ObjectKey,
  parseResourceDirName,
  resourceDirName,
  Storage,
} from '../../src-agent/hub/storage.ts';
import { describeContexts, parseKubeconfig } from '../../src-main/clusters/kubeconfig.ts';
import { REQUEST_CHANNELS } from '../../src-main/ipc/contract.ts';
import { AppError } from '../../src-main/ipc/errors.ts';
import {
  acceptingRouter,
  anyInput,
  brokenRequest,
  check,
  invalidK8sName,
  K8S_NAME_FIELDS,
  pathsOf,
  setAt,
  VALID_REQUESTS,
} from './bad-input.ipc.ts';

/** One check of a property: what failed, reproducible by its seed and path. */
export interface PropertyOutcome {
  failed: boolean;
  numRuns: number;
  /** Set when failed: the shrunk counterexample, the error, and how to replay it. */
  report?: string;
}

export interface BadInputProperty {
  /** `<area>: <promise>`, printed in the schedule and in a failure. */
  name: string;
  /** Runs per round relative to the others (file-system properties are slower). */
  weight: number;
  check(params: { seed: number; numRuns: number }): Promise<PropertyOutcome>;
}

function runner<Ts>(property: fc.IRawProperty<Ts>): BadInputProperty['check'] {
  return async ({ seed, numRuns }) => {
    const r = await fc.check(property, { seed, numRuns });
    if (!r.failed) return { failed: false, numRuns: r.numRuns };
    const error = r.errorInstance instanceof Error ? r.errorInstance.message : String(r.errorInstance);
    return {
      failed: true,
      numRuns: r.numRuns,
      report: `seed ${seed}, path ${r.counterexamplePath}\n    counterexample: ${JSON.stringify(r.counterexample)?.slice(0, 600)}\n    ${error.slice(0, 600)}`,
    };
  };
}

/** A secret as a user would paste it, with a marker no error text has by chance. */
const secret = fc.stringMatching(/^[A-Za-z0-9]{6,20}$/).map((s) => `S3CRET${s}`);
const hasSecret = (text: string | undefined, s: string) => text?.includes(s) === true;

// ---------------------------------------------------------------------------------------------
// IPC: every request validator (contract.ts, fleet-contract.ts, events-contract.ts) and the router.

const ipc: BadInputProperty[] = [
  {
    name: 'ipc: each channel accepts its valid request',
    weight: 0.2,
    check: runner(
      fc.property(fc.constantFrom(...REQUEST_CHANNELS), (channel) => {
        const r = check(channel, VALID_REQUESTS[channel]);
        if (!r.ok) throw new Error(`${channel} refused its valid request: ${r.reason}`);
      }),
    ),
  },
  {
    name: 'ipc: any input is answered with a value, never a throw',
    weight: 1,
    check: runner(
      fc.asyncProperty(fc.constantFrom(...REQUEST_CHANNELS), anyInput, async (channel, input) => {
        const r = check(channel, input);
        if (typeof r.ok !== 'boolean' || (!r.ok && typeof r.reason !== 'string'))
          throw new Error('not a Check value');
        const routed = await acceptingRouter.handle(channel, input);
        if (routed.ok !== r.ok) throw new Error(`router and validator disagree: ${JSON.stringify(routed)}`);
        if (!routed.ok && routed.error.code !== 'ipc/invalid-input') throw new Error(routed.error.code);
      }),
    ),
  },
  {
    name: 'ipc: a valid request broken in one place is refused',
    weight: 1,
    check: runner(
      fc.property(brokenRequest, ({ channel, input, what }) => {
        const r = check(channel, input);
        if (r.ok) throw new Error(`${channel} accepted ${what}: ${JSON.stringify(input)}`);
      }),
    ),
  },
  {
    name: 'ipc: a Kubernetes name the API server refuses is refused',
    weight: 1,
    check: runner(
      fc.property(
        fc.constantFrom(...K8S_NAME_FIELDS).chain((f) => fc.tuple(fc.constant(f), invalidK8sName(f.kind))),
        ([f, name]) => {
          const input = setAt(VALID_REQUESTS[f.channel], f.path, name);
          const r = check(f.channel, input);
          if (r.ok) throw new Error(`${f.channel} ${f.path.join('.')} accepted ${JSON.stringify(name)}`);
        },
      ),
    ),
  },
  {
    name: 'ipc: no error names a secret it was sent',
    weight: 1,
    check: runner(
      fc.asyncProperty(
        brokenRequest,
        secret,
        fc.nat(),
        fc.constantFrom('', '\u0000', ' ', '/', 'x'.repeat(70_000)),
        async ({ channel, input }, s, pick, tail) => {
          // The secret goes into one string field of the broken request (possibly making it invalid too).
          const strings = pathsOf(input).filter((p) => typeof p.value === 'string');
          const target = strings[pick % Math.max(1, strings.length)];
          const withSecret = target ? setAt(input, target.path, `${s}${tail}`) : input;
          const r = await acceptingRouter.handle(channel, withSecret);
          if (!r.ok && hasSecret(r.error.message + (r.error.fix ?? ''), s))
            throw new Error(`${channel}: error carries the secret: ${r.error.message}`);
        },
      ),
    ),
  },
];

// ---------------------------------------------------------------------------------------------
// Hub: the request parser (what a request is about), the cache's file mapping, object keys.

/** Path segment text: anything a client can percent-encode, dots and slashes included. */
const segmentText = fc.oneof(
  fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' }),
  fc.constantFrom('.', '..', '%', '%2e', 'a/b', 'a?b', 'a#b', ' ', 'namespaces'),
);
const k8sSegment = fc.stringMatching(/^[a-z0-9]([a-z0-9.-]{0,10}[a-z0-9])?$/);

interface RequestParts {
  group: string;
  version: string;
  namespace: string;
  resource: string;
  name: string;
  subresource: string;
}

/** The apiserver's reading of a resource path (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go). */
const requestParts: fc.Arbitrary<RequestParts> = fc
  .record({
    group: fc.oneof(fc.constant(''), k8sSegment),
    version: k8sSegment,
    namespace: fc.oneof(fc.constant(''), segmentText),
    resource: segmentText.filter((s) => s !== 'namespaces'),
    name: fc.oneof(fc.constant(''), segmentText),
    subresource: fc.oneof(fc.constant(''), fc.constantFrom('status', 'scale', 'log', 'exec', 'proxy')),
  })
  // A subresource needs a name.
  .map((p) => (p.name === '' ? { ...p, subresource: '' } : p));

function pathOf(p: RequestParts): string {
  const enc = (s: string) => encodeURIComponent(s);
  const parts = p.group === '' ? ['api', p.version] : ['apis', p.group, p.version];
  if (p.namespace !== '') parts.push('namespaces', enc(p.namespace));
  parts.push(enc(p.resource));
  if (p.name !== '') {
    parts.push(enc(p.name));
    if (p.subresource !== '') parts.push(p.subresource);
  }
  return `/${parts.join('/')}`;
}

/** Keys as the cache stores them; component names are made safe by componentOf. */
const objectKeys: fc.Arbitrary<ObjectKey> = fc.record({
  component: fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/).filter((s) => s !== '.' && s !== '..'),
  resource: fc.record({
    resource: fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' }),
    version: fc.string({ minLength: 1, maxLength: 8, unit: 'grapheme' }),
    group: fc.oneof(fc.constant(''), fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme' })),
  }),
  namespace: fc.oneof(fc.constant(''), fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' })),
  name: fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' }),
});

const quietLog = { info() {}, warn() {}, error() {}, debug() {} } as unknown as ConstructorParameters<
  typeof Storage
>[0]['log'];
const storageForPaths = new Storage({
  root: '/var/lib/edgefleet/cache',
  key: Buffer.alloc(32),
  log: quietLog,
});

const hub: BadInputProperty[] = [
  {
    name: 'hub: a resource path is read as the apiserver reads it, whatever its segments hold',
    weight: 1,
    check: runner(
      fc.property(
        requestParts,
        fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'),
        fc.boolean(),
        (p, method, watch) => {
          const url = `${pathOf(p)}${watch ? '?watch=true' : '?limit=500'}`;
          const info = parseRequestInfo(method, url);
          const got = {
            group: info.resource.group,
            version: info.resource.version,
            namespace: info.namespace,
            resource: info.resource.resource,
            name: info.name,
            subresource: info.subresource,
          };
          if (!info.isResource || JSON.stringify(got) !== JSON.stringify(p))
            throw new Error(`${method} ${url} read as ${JSON.stringify(got)}`);
        },
      ),
    ),
  },
  {
    name: 'hub: a namespace path is the namespace object (its status and finalize subresources too)',
    weight: 0.3,
    check: runner(
      fc.property(k8sSegment, fc.constantFrom('', 'status', 'finalize'), (ns, sub) => {
        const info = parseRequestInfo('GET', `/api/v1/namespaces/${ns}${sub ? `/${sub}` : ''}`);
        if (info.resource.resource !== 'namespaces' || info.name !== ns || info.subresource !== sub)
          throw new Error(`read as ${info.resource.resource} ${info.name} ${info.subresource}`);
      }),
    ),
  },
  {
    name: 'hub: any request line is parsed or refused with URIError (the hub answers 400), never misread as a resource without one',
    weight: 1,
    check: runner(
      fc.property(fc.string({ maxLength: 8 }), fc.oneof(fc.webUrl(), fc.string(), fc.webPath()), (m, url) => {
        try {
          const info = parseRequestInfo(m, url);
          if (info.isResource && (info.resource.resource === '' || info.resource.version === ''))
            throw new Error(`resource request without a resource: ${url}`);
        } catch (e) {
          if (!(e instanceof URIError)) throw e;
        }
      }),
    ),
  },
  {
    name: 'hub: every cache key maps to one file under its component directory, and back',
    weight: 1,
    check: runner(
      fc.property(objectKeys, (k) => {
        const path = storageForPaths.objectPath(k);
        const rel = relative(storageForPaths.root, path).split(sep);
        const expectLen = k.namespace === '' ? 3 : 4;
        if (rel.length !== expectLen || rel.some((s) => s === '..' || s === '.' || s.startsWith('.')))
          throw new Error(`${JSON.stringify(k)} maps to ${path}`);
        const [component, dir, ...rest] = rel as [string, string, ...string[]];
        const back = parseResourceDirName(dir);
        const name = decodeURIComponent(rest.at(-1) as string);
        const ns = rest.length === 2 ? decodeURIComponent(rest[0] as string) : '';
        if (
          decodeURIComponent(component) !== k.component ||
          JSON.stringify(back) !== JSON.stringify(k.resource) ||
          name !== k.name ||
          ns !== k.namespace ||
          resourceDirName(k.resource) !== dir
        )
          throw new Error(`${JSON.stringify(k)} came back as ${JSON.stringify({ back, ns, name })}`);
      }),
    ),
  },
  {
    name: 'hub: object keys split back into namespace and name',
    weight: 0.3,
    check: runner(
      fc.property(fc.oneof(fc.constant(''), k8sSegment), k8sSegment, (namespace, name) => {
        const o = { metadata: namespace === '' ? { name } : { name, namespace } };
        const back = splitKey(objectKey(o));
        if (back.name !== name || (back.namespace ?? '') !== namespace) throw new Error(JSON.stringify(back));
      }),
    ),
  },
  {
    name: 'hub: the cache key file is used only when it is 32 bytes and private; errors never show it',
    weight: 0.1,
    check: runner(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 0, maxLength: 40 }),
        fc.constantFrom(0o600, 0o400, 0o640, 0o644, 0o604),
        async (bytes, mode) => {
          const dir = await mkdtemp(join(tmpdir(), 'ef-soak-key-'));
          try {
            const path = join(dir, 'cache.key');
            await writeFile(path, bytes);
            await chmod(path, mode);
            const valid = bytes.length === 32 && (mode & 0o077) === 0;
            try {
              const key = await loadOrCreateCacheKey(path);
              if (!valid || !key.equals(Buffer.from(bytes)))
                throw new Error(`used a bad key file (${bytes.length} bytes, mode ${mode.toString(8)})`);
            } catch (e) {
              if (!(e instanceof CacheKeyError)) throw e;
              if (valid) throw new Error(`refused a good key file: ${e.message}`);
              const b = Buffer.from(bytes);
              if (
                b.length >= 4 &&
                (e.message.includes(b.toString('hex')) || e.message.includes(b.toString('base64')))
              )
                throw new Error(`error shows the key: ${e.message}`);
            }
          } finally {
            await rm(dir, { recursive: true, force: true });
          }
        },
      ),
    ),
  },
];

// ---------------------------------------------------------------------------------------------
// Kubeconfig import (src-main/clusters/kubeconfig.ts).

interface KcParts {
  clusters: { name: string; server: string; ca?: string }[];
  users: { name: string; user: Record<string, unknown> }[];
  contexts: { name: string; cluster: string; user: string; namespace?: string }[];
}

const kcName = fc.string({ minLength: 1, maxLength: 10, unit: 'grapheme-ascii' });
const userAuth = (s: string): fc.Arbitrary<Record<string, unknown>> =>
  fc.oneof(
    fc.constant({ token: s }),
    fc.constant({ username: 'admin', password: s }),
    fc.constant({ 'client-certificate-data': 'Y2VydA==', 'client-key-data': s }),
    fc.constant({
      exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'login', args: ['--token', s] },
    }),
  );

const validKubeconfig = (s: string): fc.Arbitrary<KcParts> =>
  fc
    .record({
      clusterNames: fc.uniqueArray(kcName, { minLength: 1, maxLength: 3 }),
      userNames: fc.uniqueArray(kcName, { minLength: 1, maxLength: 3 }),
      contextNames: fc.uniqueArray(kcName, { minLength: 1, maxLength: 3 }),
      seed: fc.nat(),
    })
    .chain(({ clusterNames, userNames, contextNames, seed }) =>
      fc
        .tuple(fc.array(userAuth(s), { minLength: userNames.length, maxLength: userNames.length }))
        .map(([auths]) => ({
          clusters: clusterNames.map((name, i) => ({ name, server: `https://198.18.0.${i + 1}:6443` })),
          users: userNames.map((name, i) => ({ name, user: auths[i] as Record<string, unknown> })),
          contexts: contextNames.map((name, i) => ({
            name,
            cluster: clusterNames[(seed + i) % clusterNames.length] as string,
            user: userNames[(seed + i) % userNames.length] as string,
            ...(i === 0 ? { namespace: 'default' } : {}),
          })),
        })),
    );

function kubeconfigDoc(p: KcParts): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: p.clusters.map((c) => ({ name: c.name, cluster: { server: c.server } })),
    users: p.users.map((u) => ({ name: u.name, user: u.user })),
    contexts: p.contexts.map((c) => ({
      name: c.name,
      context: { cluster: c.cluster, user: c.user, ...(c.namespace ? { namespace: c.namespace } : {}) },
    })),
    'current-context': p.contexts[0]?.name,
  };
}

/** One change kubectl refuses (`kubectl config view` errors on it), with what it was. */
const kubeconfigDefect = (
  s: string,
): fc.Arbitrary<{ what: string; apply: (d: Record<string, unknown>) => unknown }> =>
  fc.oneof(
    fc.constantFrom(
      ...(
        [
          ['token is a list', ['users', 0, 'user', 'token'], [s]],
          ['token is a mapping', ['users', 0, 'user', 'token'], { value: s }],
          ['token is a number', ['users', 0, 'user', 'token'], 12345],
          ['password is a list', ['users', 0, 'user', 'password'], [s]],
          ['client-key-data is a list', ['users', 0, 'user', 'client-key-data'], [s]],
          ['exec is a string', ['users', 0, 'user', 'exec'], s],
          [
            'exec command is missing',
            ['users', 0, 'user', 'exec'],
            { apiVersion: 'client.authentication.k8s.io/v1' },
          ],
          ['exec args is a string', ['users', 0, 'user', 'exec'], { command: 'x', args: s }],
          ['exec env is a string', ['users', 0, 'user', 'exec'], { command: 'x', env: s }],
          ['auth-provider is a string', ['users', 0, 'user', 'auth-provider'], s],
          ['user is a string', ['users', 0, 'user'], s],
          ['server is a list', ['clusters', 0, 'cluster', 'server'], [s]],
          ['server has a space', ['clusters', 0, 'cluster', 'server'], `https://admin:${s}@198.18.0.1 x`],
          ['server is not http(s)', ['clusters', 0, 'cluster', 'server'], `ftp://admin:${s}@198.18.0.1`],
          [
            'certificate-authority-data is a list',
            ['clusters', 0, 'cluster', 'certificate-authority-data'],
            [s],
          ],
          ['insecure-skip-tls-verify is a string', ['clusters', 0, 'cluster', 'insecure-skip-tls-verify'], s],
          ['context cluster is undefined', ['contexts', 0, 'context', 'cluster'], 'no-such-cluster'],
          ['context user is undefined', ['contexts', 0, 'context', 'user'], 'no-such-user'],
          ['context namespace is a list', ['contexts', 0, 'context', 'namespace'], [s]],
          ['kind is not Config', ['kind'], 'Secret'],
          ['clusters is a mapping', ['clusters'], { a: s }],
        ] as [string, (string | number)[], unknown][]
      ).map(([what, path, value]) => ({
        what,
        apply: (d: Record<string, unknown>) => setAt(d, path, value),
      })),
    ),
    fc.constant({
      what: 'two users with one name',
      apply: (d: Record<string, unknown>) => ({
        ...d,
        users: [...(d.users as unknown[]), (d.users as unknown[])[0]],
      }),
    }),
  );

function expectKubeconfigError(text: string, s: string): AppError | undefined {
  try {
    parseKubeconfig(text, '/home/me/.kube/config');
    return undefined;
  } catch (e) {
    if (!(e instanceof AppError) || e.code !== 'kubeconfig/invalid')
      throw new Error(`threw ${(e as Error).name}: ${(e as Error).message}`);
    if (hasSecret(e.message, s) || hasSecret(e.fix, s))
      throw new Error(`error carries the secret: ${e.message}`);
    return e;
  }
}

const kubeconfig: BadInputProperty[] = [
  {
    name: 'kubeconfig: a valid file is imported with every context and its auth kind',
    weight: 0.5,
    check: runner(
      fc.property(
        secret.chain((s) => validKubeconfig(s)),
        (p) => {
          const kc = parseKubeconfig(stringify(kubeconfigDoc(p)), '/home/me/.kube/config');
          const got = describeContexts(kc, 'imported-1').map((c) => c.context);
          if (JSON.stringify(got) !== JSON.stringify(p.contexts.map((c) => c.name)))
            throw new Error(`contexts ${JSON.stringify(got)}`);
        },
      ),
    ),
  },
  {
    name: 'kubeconfig: a file kubectl refuses is refused, without the secrets it holds in the error',
    weight: 1,
    check: runner(
      fc.property(
        secret.chain((s) => fc.tuple(fc.constant(s), validKubeconfig(s), kubeconfigDefect(s))),
        ([s, p, defect]) => {
          const text = stringify(defect.apply(kubeconfigDoc(p)));
          if (!expectKubeconfigError(text, s))
            throw new Error(`accepted a file where ${defect.what}:\n${text}`);
        },
      ),
    ),
  },
  {
    name: 'kubeconfig: any text (a damaged file) is imported or refused with kubeconfig/invalid, never a secret shown',
    weight: 1,
    check: runner(
      fc.property(
        secret.chain((s) => fc.tuple(fc.constant(s), validKubeconfig(s))),
        fc.nat(),
        fc.oneof(
          fc.constant(''),
          fc.string({ maxLength: 4 }),
          fc.constantFrom('\t', ': ', '"', "'", '[', '{', '- ', '\n  ', '&a', '*a', '!!binary '),
        ),
        fc.boolean(),
        ([s, p], at, insert, truncate) => {
          const text = stringify(kubeconfigDoc(p));
          const i = at % (text.length + 1);
          expectKubeconfigError(truncate ? text.slice(0, i) : text.slice(0, i) + insert + text.slice(i), s);
        },
      ),
    ),
  },
];

// ---------------------------------------------------------------------------------------------
// PKCS#10 reader (the controller's csrapprover judges node serving certificates by it).

const csrKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
const dnsName = fc.stringMatching(/^[a-z0-9]([a-z0-9.-]{0,20}[a-z0-9])?$/);
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join('.'));
const derOf = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
const pemOf = (der: Buffer) =>
  `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;

function parseOrCsrError(pem: string): ReturnType<typeof parseCsrPem> | undefined {
  try {
    return parseCsrPem(pem);
  } catch (e) {
    if (e instanceof CsrParseError) return undefined;
    throw e;
  }
}

const csr: BadInputProperty[] = [
  {
    name: 'csr: a request the hub writes is read back exactly, its signature holding',
    weight: 0.3,
    check: runner(
      fc.property(
        fc.string({ minLength: 1, maxLength: 30 }),
        fc.array(fc.string({ minLength: 1, maxLength: 20 }), { maxLength: 3 }),
        fc.array(dnsName, { maxLength: 3 }),
        fc.array(ipv4, { maxLength: 3 }),
        (cn, orgs, dns, ips) => {
          const r = parseCsrPem(createCsr(csrKey, cn, orgs, { dns, ips }));
          const want = { commonNames: [cn], organizations: orgs, dnsNames: dns, ipAddresses: ips };
          const got = {
            commonNames: r.commonNames,
            organizations: r.organizations,
            dnsNames: r.dnsNames,
            ipAddresses: r.ipAddresses,
          };
          if (JSON.stringify(got) !== JSON.stringify(want) || !r.signatureValid)
            throw new Error(`read back ${JSON.stringify(got)} valid=${r.signatureValid}`);
        },
      ),
    ),
  },
  {
    name: 'csr: a request changed in any byte is refused or its signature fails',
    weight: 1,
    check: runner(
      fc.property(
        fc.string({ minLength: 1, maxLength: 20 }),
        fc.array(dnsName, { minLength: 1, maxLength: 2 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (cn, dns, at, xor) => {
          const der = derOf(createCsr(csrKey, cn, ['system:nodes'], { dns }));
          const i = at % der.length;
          der[i] = (der[i] as number) ^ xor;
          const r = parseOrCsrError(pemOf(der));
          if (r?.signatureValid) throw new Error(`byte ${i} ^ ${xor} still verifies: ${JSON.stringify(r)}`);
        },
      ),
    ),
  },
  {
    name: 'csr: names are read exactly as signed or the request is refused (no byte read as another letter)',
    weight: 0.5,
    check: runner(
      fc.property(
        fc.string({
          minLength: 1,
          maxLength: 12,
          unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)),
        }),
        (name) => {
          // createCsr writes dNSName bytes as given (latin-1): a name with a byte ≥ 0x80 is not IA5.
          const r = parseOrCsrError(
            createCsr(csrKey, 'system:node:edge-1', ['system:nodes'], { dns: [name] }),
          );
          if (r && JSON.stringify(r.dnsNames) !== JSON.stringify([name]))
            throw new Error(`dNSName ${JSON.stringify(name)} read as ${JSON.stringify(r.dnsNames)}`);
        },
      ),
    ),
  },
  {
    name: 'csr: any text or DER is read or refused with CsrParseError',
    weight: 1,
    check: runner(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.uint8Array({ maxLength: 300 }).map((b) => pemOf(Buffer.from(b))),
          fc.tuple(fc.nat(), fc.nat(40)).map(([at, n]) => {
            const der = derOf(createCsr(csrKey, 'x', [], { dns: ['a'] }));
            const i = at % der.length;
            return pemOf(Buffer.concat([der.subarray(0, i), der.subarray(Math.min(der.length, i + n))]));
          }),
        ),
        (pem) => {
          parseOrCsrError(pem);
        },
      ),
    ),
  },
];

// ---------------------------------------------------------------------------------------------
// Node report (src-agent/api/node-report.ts): hand-edited or newer annotations must not break a view.

const num = fc.nat({ max: 2 ** 40 });
const rfc3339 = fc
  .date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2040-01-01T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
const validReport: fc.Arbitrary<NodeReport> = fc.record(
  {
    v: fc.constant(1 as const),
    at: rfc3339,
    agentVersion: fc.string({ maxLength: 10 }),
    cache: fc.record(
      { bytes: num, health: fc.constantFrom('Ready', 'DiskFull'), message: fc.string(), quotaBytes: num },
      { requiredKeys: ['bytes', 'health'] },
    ),
    disk: fc.record({ freeBytes: num, totalBytes: num }),
    journal: fc.record({ depth: num, bound: num, dropped: num }),
    offlineSeconds24h: fc.nat(86_400),
    certNotAfter: rfc3339,
    tunnel: fc.constantFrom('connected', 'disconnected', 'not-installed'),
  },
  { requiredKeys: ['v', 'at', 'agentVersion', 'cache', 'disk', 'journal', 'offlineSeconds24h', 'tunnel'] },
) as fc.Arbitrary<NodeReport>;

const REPORT_DEFECTS: [string, (string | number)[], unknown][] = [
  ['no at', ['at'], undefined],
  ['at is not a time', ['at'], 'yesterday'],
  ['at is a number', ['at'], 1700000000],
  ['certNotAfter is not a time', ['certNotAfter'], 'soon'],
  ['version 2', ['v'], 2],
  ['cache.bytes negative', ['cache', 'bytes'], -1],
  ['cache.bytes a string', ['cache', 'bytes'], '10'],
  ['cache is a list', ['cache'], []],
  ['disk missing', ['disk'], undefined],
  ['journal.dropped null', ['journal', 'dropped'], null],
  ['tunnel unknown', ['tunnel'], 'up'],
  ['offlineSeconds24h negative', ['offlineSeconds24h'], -5],
];

const nodeReport: BadInputProperty[] = [
  {
    name: 'node report: a valid report is read as written',
    weight: 0.3,
    check: runner(
      fc.property(validReport, (r) => {
        const got = parseNodeReport(JSON.stringify(r));
        if (JSON.stringify(got) !== JSON.stringify(r)) throw new Error(`read as ${JSON.stringify(got)}`);
      }),
    ),
  },
  {
    name: 'node report: a report with a wrong field is an error value naming the annotation',
    weight: 1,
    check: runner(
      fc.property(validReport, fc.constantFrom(...REPORT_DEFECTS), (r, [what, path, value]) => {
        const got = parseNodeReport(JSON.stringify(setAt(r, path, value)));
        if (!got || !('error' in got) || !got.error.includes('edgefleet.io/node-report'))
          throw new Error(`accepted a report where ${what}: ${JSON.stringify(got)}`);
      }),
    ),
  },
  {
    name: 'node report: any annotation text gives a report or a short error, never a throw',
    weight: 1,
    check: runner(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json({ maxDepth: 4 }),
          validReport.map((r) => JSON.stringify(r).slice(0, -3)),
        ),
        (text) => {
          const got = parseNodeReport(text);
          if (got && 'error' in got && got.error.length > 200)
            throw new Error(`error of ${got.error.length} characters`);
        },
      ),
    ),
  },
];

export const BAD_INPUT_PROPERTIES: BadInputProperty[] = [
  ...ipc,
  ...hub,
  ...kubeconfig,
  ...csr,
  ...nodeReport,
];
