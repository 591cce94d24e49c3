/**
 * The one IPC contract between the renderer and the main process. The Electron preload and the
 * browser host (WebSocket) both expose exactly these channels; nothing else is reachable.
 *
 * Request channels: renderer → main, one response each, input validated by REQUEST_SCHEMAS.
 * Event channels: main → renderer, pushed; payload types in EventMap.
 */
import {
  ALERTS_EVENT_CHANNELS,
  ALERTS_REQUEST_SCHEMAS,
  type AlertsEventMap,
  type AlertsResponseMap,
} from './alerts-contract.ts';
import type { DemoStatus } from './demo-types.ts';

import {
  EVENTS_EVENT_CHANNELS,
  EVENTS_REQUEST_SCHEMAS,
  type EventsEventMap,
  type EventsResponseMap,
} from './events-contract.ts';
import {
  FLEET_EVENT_CHANNELS,
  FLEET_REQUEST_SCHEMAS,
  type FleetEventMap,
  type FleetResponseMap,
} from './fleet-contract.ts';
import { CLUSTER_ID, DNS_LABEL, DNS_SUBDOMAIN, SOURCE_ID } from './ids.ts';

import type { StreamEnd, StreamLinesBatch, StreamOpened, StreamOutputBatch } from './stream-types.ts';
import type {
  ClusterDiff,
  ClusterSnapshot,
  ClusterSourceInfo,
  HostKeyCheck,
  ProvisionLogBatch,
  ProvisionProgressBatch,
  ProvisionRunInfo,
  SiteHost,
  TunnelAccessProfile,
  VaultStatus,
} from './types.ts';
import {
  array,
  bool,
  type Check,
  type Infer,
  int,
  literal,
  none,
  object,
  optional,
  str,
  type Validator,
} from './validate.ts';

export { CLUSTER_ID, SOURCE_ID };

const FILE_PATH = str({ min: 1, max: 4096, printable: true });
const DISPLAY_NAME = str({ min: 1, max: 100, printable: true });

/** `vault:<kind>/<id>` as made by src-main/vault/refs.ts. */
const VAULT_REF = (kinds: string[]) =>
  str({ min: 8, max: 260, pattern: new RegExp(`^vault:(${kinds.join('|')})/[A-Za-z0-9._@:-]{1,200}$`) });
const SITE_NAME = DNS_LABEL;
/** A node/host name: DNS label(s), as Kubernetes node names are. */
const HOST_NAME = DNS_SUBDOMAIN;
const HOST_ID = str({ min: 3, max: 320, pattern: /^[a-z0-9-]+\/[a-z0-9.-]+$/ });
/** An IP address or DNS name (no user@, no port, no spaces or shell metacharacters). */
const ADDRESS = str({ min: 1, max: 253, pattern: /^(?:[A-Za-z0-9][A-Za-z0-9.-]*|\[?[0-9A-Fa-f:.]+\]?)$/ });
const USER = str({ min: 1, max: 32, pattern: /^[a-z_][a-z0-9_-]*\$?$/ });
const RUN_ID = str({ min: 1, max: 100, pattern: /^[A-Za-z0-9._-]+$/ });
const POOL_NAME = DNS_LABEL;
const HOST_IDS = array(HOST_ID, { max: 500 });
/** One PEM certificate block (a bundle of a few for a CA); never a private key. */
const CERT_PEM = str({
  min: 64,
  max: 65_536,
  pattern: /^\s*(-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\s*)+$/,
});

/** SSH credentials by vault reference; exactly the fields of one kind. */
const SSH_AUTH: Validator<
  | { kind: 'key'; privateKeyRef: string; passphraseRef?: string }
  | { kind: 'password'; passwordRef: string }
  | { kind: 'agent' }
> = (input, path = '') => {
  const kind = (input as { kind?: unknown } | null)?.kind;
  if (kind === 'key')
    return object({
      kind: literal('key'),
      privateKeyRef: VAULT_REF(['ssh-private-key']),
      passphraseRef: optional(VAULT_REF(['ssh-passphrase'])),
    })(input, path);
  if (kind === 'password')
    return object({ kind: literal('password'), passwordRef: VAULT_REF(['ssh-password']) })(input, path);
  if (kind === 'agent') return object({ kind: literal('agent') })(input, path);
  return {
    ok: false,
    reason: `${path || 'input'}: kind must be "key", "password" or "agent"`,
  } as Check<never>;
};

const RUN_COMMON = {
  hostIds: HOST_IDS,
  /** Reuse an interrupted run's id to resume it from its last completed step. */
  runId: optional(RUN_ID),
  concurrency: optional(int({ min: 1, max: 50 })),
};

/** Kubernetes object names: a namespace and a container are DNS labels, a pod a DNS subdomain. */
const K8S_LABEL = DNS_LABEL;
const POD_NAME = DNS_SUBDOMAIN;
/** Made by main (src-main/fleet/streams.ts). */
const STREAM_ID = str({ min: 18, max: 18, pattern: /^s-[0-9a-f]{16}$/ });
/** Up to 30 days back. */
const SINCE_SECONDS = int({ min: 1, max: 30 * 24 * 3600 });
/** A terminal dimension in character cells. */
const CELLS = int({ min: 1, max: 1000 });
/**
 * One stdin write: a keystroke or a pasted chunk. Kept well under the browser host's 64 KiB
 * message limit; the terminal sends a longer paste as several writes.
 */
export const STDIN_MAX_CHARS = 16 * 1024;

export const REQUEST_SCHEMAS = {
  'vault:status': none(),
  /** The user accepts that, without a keychain, secrets live in memory until the app exits. */
  'vault:useSessionMemory': none(),
  'clusters:listSources': none(),
  /** Copies a kubeconfig into the app: credentials go to the vault, the rest to settings. */
  'clusters:import': object({ path: FILE_PATH, name: optional(DISPLAY_NAME) }),
  /** Removes an imported source and deletes its vault entries. Detected sources cannot be removed. */
  'clusters:removeSource': object({ sourceId: SOURCE_ID }),
  /** Starts live state; answers with the current snapshot, then `cluster:diff` events follow. */
  'clusters:watch': object({ clusterId: CLUSTER_ID }),
  'clusters:unwatch': object({ clusterId: CLUSTER_ID }),
  /** A fresh snapshot, for a renderer that saw a gap in diff sequence numbers. */
  'clusters:snapshot': object({ clusterId: CLUSTER_ID }),
  /**
   * Puts one provisioning secret (SSH key, passphrase, password, bootstrap token) into the vault;
   * answers with its reference. Settings, hosts and run files only ever hold the reference.
   */
  'vault:storeSecret': object({
    kind: literal(
      'ssh-private-key',
      'ssh-passphrase',
      'ssh-password',
      'bootstrap-token',
      'tunnel-client-key',
    ),
    id: str({ min: 1, max: 200, pattern: /^[A-Za-z0-9._@:-]+$/ }),
    value: str({ min: 1, max: 65_536 }),
  }),
  'hosts:list': none(),
  'hosts:add': object({
    site: SITE_NAME,
    name: HOST_NAME,
    address: ADDRESS,
    port: optional(int({ min: 1, max: 65_535 })),
    user: USER,
    auth: SSH_AUTH,
    jumpHostId: optional(HOST_ID),
    viaTunnel: optional(bool()),
  }),
  'hosts:remove': object({ hostId: HOST_ID }),
  'tunnels:list': none(),
  /** Sets (adds or replaces) how the app reaches a site's via-tunnel hosts: the tunnel server's access door. */
  'tunnels:set': object({
    site: SITE_NAME,
    door: object({ host: ADDRESS, port: int({ min: 1, max: 65_535 }) }),
    caPem: CERT_PEM,
    certPem: CERT_PEM,
    keyRef: VAULT_REF(['tunnel-client-key']),
    serverName: optional(HOST_NAME),
  }),
  'tunnels:remove': object({ site: SITE_NAME }),
  /** Connects to a host (and its jump host): trusted, or the unknown key's fingerprint to show. A changed key is an error. */
  'hosts:checkHostKey': object({ hostId: HOST_ID }),
  /** The user accepts the fingerprint they were shown; main accepts only the key it last saw for that host. */
  'hosts:acceptHostKey': object({
    host: ADDRESS,
    port: int({ min: 1, max: 65_535 }),
    keyType: str({ min: 1, max: 64, pattern: /^[a-z0-9@.-]+$/ }),
    fingerprint: str({ min: 8, max: 128, pattern: /^SHA256:[A-Za-z0-9+/]+$/ }),
  }),
  'provision:runs': none(),
  'provision:preflight': object({ clusterId: CLUSTER_ID, ...RUN_COMMON }),
  'provision:convert': object({
    clusterId: CLUSTER_ID,
    ...RUN_COMMON,
    pool: optional(POOL_NAME),
    /** `node.openyurt.io/autonomy-duration`, e.g. "0" (never evict) or "30m". */
    autonomyDuration: optional(str({ min: 1, max: 16, pattern: /^(0|[0-9]+(s|m|h))$/ })),
  }),
  'provision:join': object({
    clusterId: CLUSTER_ID,
    ...RUN_COMMON,
    bootstrapTokenRef: VAULT_REF(['bootstrap-token']),
    pool: optional(POOL_NAME),
    autonomyDuration: optional(str({ min: 1, max: 16, pattern: /^(0|[0-9]+(s|m|h))$/ })),
  }),
  'provision:revert': object({ clusterId: CLUSTER_ID, ...RUN_COMMON }),
  'provision:upgrade': object({ ...RUN_COMMON }),
  'provision:cancel': object({ runId: RUN_ID }),
  /**
   * Starts the local demo fleet (builds the lab binaries first if they are missing); answers at
   * once with the status, `demo:progress` events follow. Already running: answers with that.
   */
  'demo:start': object({ nodes: optional(int({ min: 12, max: 2_000 })) }),
  'demo:status': none(),
  /** Stops every demo process; answers once none is left. */
  'demo:stop': none(),
  ...FLEET_REQUEST_SCHEMAS,
  ...EVENTS_REQUEST_SCHEMAS,
  ...ALERTS_REQUEST_SCHEMAS,
  /** Opens a pod's logs; lines follow as `stream:lines`, then one `stream:end`. */
  'streams:podLogs': object({
    clusterId: CLUSTER_ID,
    namespace: K8S_LABEL,
    pod: POD_NAME,
    container: optional(K8S_LABEL),
    follow: optional(bool()),
    /** The last run's logs of a restarted container. */
    previous: optional(bool()),
    tailLines: optional(int({ min: 1, max: 100_000 })),
    sinceSeconds: optional(SINCE_SECONDS),
  }),
  /** Opens an interactive exec; output follows as `stream:output`, the exit code in `stream:end`. */
  'streams:exec': object({
    clusterId: CLUSTER_ID,
    namespace: K8S_LABEL,
    pod: POD_NAME,
    container: optional(K8S_LABEL),
    command: array(str({ min: 1, max: 4096 }), { min: 1, max: 64 }),
    /** Default false; with a TTY, stderr arrives merged into stdout. */
    tty: optional(bool()),
    /** Default true. */
    stdin: optional(bool()),
    /** The terminal's size at open (TTY only). */
    size: optional(object({ cols: CELLS, rows: CELLS })),
  }),
  /** Opens the journal of an EdgeFleet agent unit on a registered host, over SSH (or the tunnel door). */
  'streams:serviceLogs': object({
    hostId: HOST_ID,
    unit: literal('edgefleet-hub', 'edgefleet-tunnel-agent'),
    follow: optional(bool()),
    /** Most recent entries to start with (default 200). */
    lines: optional(int({ min: 1, max: 10_000 })),
    /** journalctl --grep: a PCRE2 pattern, case-insensitive unless it has capitals. */
    grep: optional(str({ min: 1, max: 200, printable: true })),
    sinceSeconds: optional(SINCE_SECONDS),
  }),
  /** Exec stdin: `data` (UTF-8 text, as a terminal produces), then optionally EOF (v5 servers only). */
  'streams:write': object({
    streamId: STREAM_ID,
    data: optional(str({ max: STDIN_MAX_CHARS })),
    eof: optional(bool()),
  }),
  'streams:resize': object({ streamId: STREAM_ID, cols: CELLS, rows: CELLS }),
  /** The renderer handled every batch of this stream up to `seq`; main sends at most 4 batches ahead. */
  'streams:ack': object({ streamId: STREAM_ID, seq: int({ min: 1, max: Number.MAX_SAFE_INTEGER }) }),
  /** Stops a stream; `stream:end` with reason `closed` follows. Closing an ended stream is fine. */
  'streams:close': object({ streamId: STREAM_ID }),
} satisfies Record<string, Validator<unknown>>;

export type RequestChannel = keyof typeof REQUEST_SCHEMAS;
export type RequestOf<C extends RequestChannel> = Infer<(typeof REQUEST_SCHEMAS)[C]>;

export interface ResponseMap extends FleetResponseMap, EventsResponseMap, AlertsResponseMap {
  'vault:status': VaultStatus;
  'vault:useSessionMemory': VaultStatus;
  'clusters:listSources': ClusterSourceInfo[];
  'clusters:import': ClusterSourceInfo;
  'clusters:removeSource': null;
  'clusters:watch': ClusterSnapshot;
  'clusters:unwatch': null;
  'clusters:snapshot': ClusterSnapshot;
  'vault:storeSecret': { ref: string };
  'hosts:list': SiteHost[];
  'hosts:add': SiteHost;
  'hosts:remove': null;
  'tunnels:list': TunnelAccessProfile[];
  'tunnels:set': TunnelAccessProfile;
  'tunnels:remove': null;
  'hosts:checkHostKey': HostKeyCheck;
  'hosts:acceptHostKey': null;
  'provision:runs': ProvisionRunInfo[];
  /** Runs answer at once with the run; progress, log and the finished run follow as events. */
  'provision:preflight': ProvisionRunInfo;
  'provision:convert': ProvisionRunInfo;
  'provision:join': ProvisionRunInfo;
  'provision:revert': ProvisionRunInfo;
  'provision:upgrade': ProvisionRunInfo;
  'provision:cancel': null;
  'demo:start': DemoStatus;
  'demo:status': DemoStatus;
  'demo:stop': DemoStatus;
  'streams:podLogs': StreamOpened;
  'streams:exec': StreamOpened;
  'streams:serviceLogs': StreamOpened;
  'streams:write': null;
  'streams:resize': null;
  'streams:ack': null;
  'streams:close': null;
}
export type ResponseOf<C extends RequestChannel> = ResponseMap[C];

export interface EventMap extends FleetEventMap, EventsEventMap, AlertsEventMap {
  'vault:status': VaultStatus;
  /** Sent when a watch starts or the cluster had to be re-listed from scratch. */
  'cluster:snapshot': ClusterSnapshot;
  /** Batched: at most one per cluster per batch window, coalesced per object. */
  'cluster:diff': ClusterDiff;
  /** Batched: progress coalesced per host and step over a short window. */
  'provision:progress': ProvisionProgressBatch;
  /** Batched log lines (capped per batch; the run's log file has every line). */
  'provision:log': ProvisionLogBatch;
  /** A run started, finished (with its per-host summary) or was cancelled. */
  'provision:run': ProvisionRunInfo;
  /** The demo fleet's status on every change (build step, start step, running, failed, stopped). */
  'demo:progress': DemoStatus;
  /** A batch of log lines of one stream (pod or service logs); acknowledge with `streams:ack`. */
  'stream:lines': StreamLinesBatch;
  /** A batch of exec output; acknowledge with `streams:ack`. */
  'stream:output': StreamOutputBatch;
  /** A stream's last event, after all its batches. */
  'stream:end': StreamEnd;
}
export type EventChannel = keyof EventMap;

export const REQUEST_CHANNELS = Object.keys(REQUEST_SCHEMAS) as RequestChannel[];
export const EVENT_CHANNELS: readonly EventChannel[] = [
  'vault:status',
  'cluster:snapshot',
  'cluster:diff',
  'provision:progress',
  'provision:log',
  'provision:run',
  'demo:progress',
  ...FLEET_EVENT_CHANNELS,
  ...EVENTS_EVENT_CHANNELS,
  ...ALERTS_EVENT_CHANNELS,
  'stream:lines',
  'stream:output',
  'stream:end',
];

export function isRequestChannel(name: unknown): name is RequestChannel {
  return typeof name === 'string' && Object.hasOwn(REQUEST_SCHEMAS, name);
}

/** What a service uses to push events; the Electron shell and the browser host each provide one. */
export type EventSink = <E extends EventChannel>(channel: E, payload: EventMap[E]) => void;

// Compile-time guard: every request channel has a response type and vice versa.
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const channelsMatch: Exact<keyof ResponseMap, RequestChannel> = true;
void channelsMatch;
