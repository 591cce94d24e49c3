/**
 * The main process composed: vault, settings, clusters, one IPC router, and an event fan-out
 * that every transport (Electron's webContents, each browser-host WebSocket) subscribes to.
 * Plain Node: the Electron shell and the browser host both start exactly this.
 */

import { dirname, resolve } from 'node:path';
import { AlertsService } from './alerts/service.ts';
import type { LiveClusterOptions } from './clusters/live-cluster.ts';
import { ObjectEventsService } from './clusters/object-events.ts';
import { ClustersService } from './clusters/service.ts';
import { ClusterSources } from './clusters/sources.ts';
import { DemoService } from './demo/service.ts';
import { FleetService } from './fleet/service.ts';
import { StreamsService } from './fleet/streams.ts';
import type { EventChannel, EventMap, EventSink } from './ipc/contract.ts';
import { createIpcRouter, type IpcRouter } from './ipc/router.ts';
import { ProvisionService } from './provision/handlers.ts';
import { SettingsStore } from './settings/store.ts';
import { vaultHandlers } from './vault/handlers.ts';
import { Vault, type VaultOptions } from './vault/vault.ts';

export interface AppOptions {
  /** Settings file (default: $XDG_CONFIG_HOME/edgefleet/settings.json). */
  settingsPath?: string;
  /** Home directory whose ~/.kube/config is detected (default: the user's). */
  home?: string;
  /** $KUBECONFIG as seen at start (default: process.env.KUBECONFIG). */
  kubeconfigEnv?: string | undefined;
  vault?: Omit<VaultOptions, 'onStatus'>;
  live?: Omit<LiveClusterOptions, 'redact'>;
  /** The app's resources/ (agent bundle, Node runtimes, units); default: $EDGEFLEET_RESOURCES or the repo's. */
  resourcesDir?: string;
  /** Provisioning's hosts, known host keys, run state and logs (default: next to the settings file). */
  provisionDir?: string;
  /** Where log lines go after redaction (default: stderr). */
  logSink?: (line: string) => void;
  /** The demo fleet's state directory (default: $XDG_CACHE_HOME/edgefleet-demo). */
  demoDir?: string;
  /** Nodes in the demo fleet when the renderer does not say (default 300). */
  demoNodes?: number;
}

export interface MainApp {
  readonly router: IpcRouter;
  readonly vault: Vault;
  readonly clusters: ClustersService;
  readonly provision: ProvisionService;
  readonly demo: DemoService;
  readonly fleet: FleetService;
  readonly streams: StreamsService;
  readonly objectEvents: ObjectEventsService;
  readonly alerts: AlertsService;
  /** Adds an event receiver (a window, a socket); returns its removal. */
  subscribe(sink: EventSink): () => void;
  /** Logs one line with every secret the vault knows scrubbed out. */
  log(line: string): void;
  close(): Promise<void>;
}

/**
 * Events fan out to every current subscriber. A throwing subscriber (a socket that just closed)
 * must not starve the others, so its failure is logged and the loop goes on.
 */
class EventHub {
  private readonly sinks = new Set<EventSink>();
  onSinkError: (channel: EventChannel, error: unknown) => void = () => {};
  /** The last receiver left (window closed, last browser tab gone): nobody sees stream output now. */
  onEmpty: () => void = () => {};

  readonly emit: EventSink = <E extends EventChannel>(channel: E, payload: EventMap[E]) => {
    for (const sink of this.sinks) {
      try {
        sink(channel, payload);
      } catch (error) {
        this.onSinkError(channel, error);
      }
    }
  };

  subscribe(sink: EventSink): () => void {
    this.sinks.add(sink);
    return () => {
      if (this.sinks.delete(sink) && this.sinks.size === 0) this.onEmpty();
    };
  }
}

function messageOf(e: unknown): string {
  return e instanceof Error ? (e.stack ?? e.message) : String(e);
}

export async function startApp(options: AppOptions = {}): Promise<MainApp> {
  const hub = new EventHub();
  const vault = await Vault.open({ ...options.vault, onStatus: (s) => hub.emit('vault:status', s) });
  const sink = options.logSink ?? ((line: string) => process.stderr.write(`${line}\n`));
  const log = (line: string) => sink(vault.redact(`[edgefleet] ${line}`));
  hub.onSinkError = (channel, error) =>
    log(`event ${channel} not delivered to one receiver: ${messageOf(error)}`);

  const settings = new SettingsStore(options.settingsPath);
  const resourcesDir =
    options.resourcesDir ?? process.env.EDGEFLEET_RESOURCES ?? resolve(import.meta.dirname, '../resources');
  const demo = new DemoService({
    emit: hub.emit,
    log,
    resourcesDir,
    ...(options.demoDir ? { dir: options.demoDir } : {}),
    ...(options.demoNodes ? { defaultNodes: options.demoNodes } : {}),
    beforeStop: (): Promise<void> => clusters.stopSource('demo'),
  });
  const sourcesOptions = {
    vault,
    settings,
    demoKubeconfig: (): string | undefined => demo.kubeconfigPath(),
    ...(options.home !== undefined ? { home: options.home } : {}),
    ...('kubeconfigEnv' in options ? { kubeconfigEnv: options.kubeconfigEnv } : {}),
  };
  const sources = new ClusterSources(sourcesOptions);
  const alerts = new AlertsService({ settings, log });
  const clusters = new ClustersService(
    sources,
    hub.emit,
    { ...options.live, redact: (t) => vault.redact(t) },
    // Fleet writes cache a client per cluster: new or removed credentials must not meet a stale one.
    {
      onSourceChanged: (sourceId) => fleet.forgetSource(sourceId),
      alertRulesFor: async (id) => (await alerts.rulesFor(id)).rules,
    },
  );
  alerts.clusters = clusters;
  const provision = new ProvisionService({
    vault,
    emit: hub.emit,
    dataDir: options.provisionDir ?? resolve(dirname(settings.path), 'provision'),
    resourcesDir,
    kubeConfigFor: (id) => sources.kubeConfigFor(id),
    log,
  });
  const fleet = new FleetService({
    kubeConfigFor: (id) => sources.kubeConfigFor(id),
    connection: (id) => clusters.liveCluster(id)?.connectionInfo(),
    emit: hub.emit,
    resourcesDir,
  });
  const streams = new StreamsService({
    emit: hub.emit,
    kubeConfigFor: (id) => sources.kubeConfigFor(id),
    openSsh: (hostId) => provision.openSession(hostId),
    redact: (t) => vault.redact(t),
    log,
  });
  const objectEvents = new ObjectEventsService({
    kubeConfigFor: (id) => sources.kubeConfigFor(id),
    emit: hub.emit,
    redact: (t) => vault.redact(t),
    ...(options.live?.watcher ? { watcher: options.live.watcher } : {}),
  });
  hub.onEmpty = () => {
    streams.closeAll('renderer-gone');
    // Nobody shows a node page any more: its events watch would only load the API server.
    void objectEvents.closeAll();
  };
  const router = createIpcRouter(
    {
      ...vaultHandlers(vault),
      ...clusters.handlers(),
      ...provision.handlers(),
      ...demo.handlers(),
      ...fleet.handlers(),
      ...streams.handlers(),
      ...objectEvents.handlers(),
      ...alerts.handlers(),
      'app:reportError': ({ view, message, stack }) => {
        log(`renderer view "${view}" crashed: ${message}${stack ? `\n${stack}` : ''}`);
        return null;
      },
    },
    {
      redact: (t) => vault.redact(t),
      onUnexpectedError: (channel, error) => log(`${channel} failed unexpectedly: ${messageOf(error)}`),
    },
  );
  const status = vault.status();
  log(`vault: ${status.backend} — ${status.detail}`);

  return {
    router,
    vault,
    clusters,
    provision,
    demo,
    fleet,
    streams,
    objectEvents,
    alerts,
    subscribe: (s) => hub.subscribe(s),
    log,
    close: async () => {
      streams.closeAll('closed');
      await objectEvents.closeAll();
      fleet.close();
      await provision.close();
      await clusters.stopAll();
      // Last: the app's own watches on the demo cluster end before its API server does.
      await demo.stop();
    },
  };
}
