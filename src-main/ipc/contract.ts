/**
 * The one IPC contract between the renderer and the main process. The Electron preload and the
 * browser host (WebSocket) both expose exactly these channels; nothing else is reachable.
 *
 * Request channels: renderer → main, one response each, input validated by REQUEST_SCHEMAS.
 * Event channels: main → renderer, pushed; payload types in EventMap.
 */
import type {
  ClusterDiff,
  ClusterSnapshot,
  ClusterSourceInfo,
  ProvisionLogLine,
  ProvisionProgress,
  VaultStatus,
} from './types.ts';
import { type Infer, none, object, optional, str, type Validator } from './validate.ts';

/** Source ids are made by main: `default`, `env-<n>`, `imported-<hex>`. */
export const SOURCE_ID = str({ min: 1, max: 64, pattern: /^[a-z0-9-]+$/ });
/** `<sourceId>/<context name>`. Context names are free-form in kubeconfig, so only length/control chars are limited. */
export const CLUSTER_ID = str({ min: 3, max: 320, pattern: /^[a-z0-9-]+\/.+$/s, printable: true });
const FILE_PATH = str({ min: 1, max: 4096, printable: true });
const DISPLAY_NAME = str({ min: 1, max: 100, printable: true });

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
} satisfies Record<string, Validator<unknown>>;

export type RequestChannel = keyof typeof REQUEST_SCHEMAS;
export type RequestOf<C extends RequestChannel> = Infer<(typeof REQUEST_SCHEMAS)[C]>;

export interface ResponseMap {
  'vault:status': VaultStatus;
  'vault:useSessionMemory': VaultStatus;
  'clusters:listSources': ClusterSourceInfo[];
  'clusters:import': ClusterSourceInfo;
  'clusters:removeSource': null;
  'clusters:watch': ClusterSnapshot;
  'clusters:unwatch': null;
  'clusters:snapshot': ClusterSnapshot;
}
export type ResponseOf<C extends RequestChannel> = ResponseMap[C];

export interface EventMap {
  'vault:status': VaultStatus;
  /** Sent when a watch starts or the cluster had to be re-listed from scratch. */
  'cluster:snapshot': ClusterSnapshot;
  /** Batched: at most one per cluster per batch window, coalesced per object. */
  'cluster:diff': ClusterDiff;
  'provision:progress': ProvisionProgress;
  'provision:log': ProvisionLogLine;
}
export type EventChannel = keyof EventMap;

export const REQUEST_CHANNELS = Object.keys(REQUEST_SCHEMAS) as RequestChannel[];
export const EVENT_CHANNELS: readonly EventChannel[] = [
  'vault:status',
  'cluster:snapshot',
  'cluster:diff',
  'provision:progress',
  'provision:log',
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
