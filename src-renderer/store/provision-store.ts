/**
 * The Provisioning view's state: the site host list, runs with per-host step progress and their
 * log (from the batched `provision:*` events), and the host key the user is asked to accept.
 * Secrets typed by the user go straight to `vault:storeSecret`; only the returned reference is kept.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type {
  HostKeyCheck,
  ProvisionLogLine,
  ProvisionOperation,
  ProvisionProgress,
  ProvisionRunInfo,
  SiteHost,
  SshAuthRef,
  TunnelAccessProfile,
} from '../../src-main/ipc/types.ts';
import type { Transport } from '../transport/transport.ts';
import { toUserError, type UserError } from './app-store.ts';

export interface HostProgress {
  stepCount: number;
  /** Latest progress per step, in step order. */
  steps: ProvisionProgress[];
  /** Bytes sent per step (uploads), summed for the host. */
  bytes: Record<string, number>;
}

export interface RunView {
  info: ProvisionRunInfo;
  hosts: Record<string, HostProgress>;
  log: ProvisionLogLine[];
  omitted: number;
}

/** What the user is asked to accept: the key the host (or its jump host) presented. */
export type HostKeyPrompt = Extract<HostKeyCheck, { status: 'unknown' }> & { hostId: string };

export interface NewHost {
  site: string;
  name: string;
  address: string;
  port?: number;
  user: string;
  auth:
    | { kind: 'key'; privateKey: string; passphrase?: string }
    | { kind: 'password'; password: string }
    | { kind: 'agent' };
  jumpHostId?: string;
  viaTunnel?: boolean;
}

/** A site's tunnel access door as typed in the form; the key goes to the vault on save. */
export interface NewTunnelAccess {
  site: string;
  doorHost: string;
  doorPort: number;
  serverName?: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

export interface RunRequest {
  operation: ProvisionOperation;
  hostIds: string[];
  clusterId?: string;
  pool?: string;
  autonomyDuration?: string;
  /** Join: typed by the user, stored in the vault before the run starts. */
  bootstrapToken?: string;
}

export interface ProvisionState {
  hosts: SiteHost[];
  /** How the app reaches each NATed site's hosts: the tunnel server's access door. */
  tunnels: TunnelAccessProfile[];
  runs: Record<string, RunView>;
  currentRunId: string | null;
  hostKeyPrompt: HostKeyPrompt | null;
  /** Host ids whose key is known to be trusted (checked in this session). */
  trusted: Record<string, boolean>;
  error: UserError | null;
  busy: boolean;

  refresh(): Promise<void>;
  addHost(h: NewHost): Promise<boolean>;
  setTunnel(t: NewTunnelAccess): Promise<boolean>;
  removeTunnel(site: string): Promise<void>;
  checkHostKey(hostId: string): Promise<void>;
  acceptHostKey(): Promise<void>;
  rejectHostKey(): void;
  startRun(r: RunRequest): Promise<boolean>;
  cancel(runId: string): Promise<void>;
}

const MAX_LOG = 3_000;

/** A vault id from what the user typed: stable, safe characters only. */
function vaultId(...parts: string[]): string {
  return `${parts.join('.').replace(/[^A-Za-z0-9._@:-]/g, '-')}.${Date.now().toString(36)}`.slice(0, 200);
}

function emptyRun(info: ProvisionRunInfo): RunView {
  return { info, hosts: {}, log: [], omitted: 0 };
}

export function applyProgress(run: RunView, items: ProvisionProgress[]): RunView {
  const hosts = { ...run.hosts };
  for (const p of items) {
    const h = hosts[p.host] ?? { stepCount: p.stepCount, steps: [], bytes: {} };
    const steps = h.steps.filter((s) => s.step !== p.step);
    steps.push(p);
    steps.sort((a, b) => a.stepIndex - b.stepIndex);
    hosts[p.host] = {
      stepCount: p.stepCount,
      steps,
      bytes: p.bytes ? { ...h.bytes, [p.step]: p.bytes.sent } : h.bytes,
    };
  }
  return { ...run, hosts };
}

export function createProvisionStore(transport: Transport): StoreApi<ProvisionState> {
  const store = createStore<ProvisionState>()((set, get) => {
    /** A user action: the view is busy while it runs and shows its failure, which yields `failed`. */
    const act = async <T>(failed: T, action: () => Promise<T>): Promise<T> => {
      set({ busy: true, error: null });
      try {
        return await action();
      } catch (e) {
        set({ error: toUserError(e) });
        return failed;
      } finally {
        set({ busy: false });
      }
    };
    const updateRun = (runId: string, change: (r: RunView) => RunView) => {
      const current = get().runs[runId];
      if (!current) return;
      set({ runs: { ...get().runs, [runId]: change(current) } });
    };
    transport.on('provision:run', (info) => {
      const current = get().runs[info.runId];
      set({ runs: { ...get().runs, [info.runId]: current ? { ...current, info } : emptyRun(info) } });
      // A host stopped at an unknown key: ask the user about that key.
      const stopped = info.summary?.hosts.find((h) => h.hostKey);
      if (stopped?.hostKey && !get().hostKeyPrompt)
        set({ hostKeyPrompt: { status: 'unknown', hostId: stopped.host, ...stopped.hostKey } });
    });
    transport.on('provision:progress', (b) => updateRun(b.runId, (r) => applyProgress(r, b.items)));
    transport.on('provision:log', (b) =>
      updateRun(b.runId, (r) => {
        const log = [...r.log, ...b.lines];
        return {
          ...r,
          log: log.slice(Math.max(0, log.length - MAX_LOG)),
          omitted: r.omitted + (b.omitted ?? 0),
        };
      }),
    );

    return {
      hosts: [],
      tunnels: [],
      runs: {},
      currentRunId: null,
      hostKeyPrompt: null,
      trusted: {},
      error: null,
      busy: false,

      async refresh() {
        try {
          const [hosts, tunnels, runs] = await Promise.all([
            transport.invoke('hosts:list', undefined),
            transport.invoke('tunnels:list', undefined),
            transport.invoke('provision:runs', undefined),
          ]);
          const views = { ...get().runs };
          for (const info of runs)
            views[info.runId] = views[info.runId]
              ? ({ ...views[info.runId], info } as RunView)
              : emptyRun(info);
          set({ hosts, tunnels, runs: views });
        } catch (e) {
          set({ error: toUserError(e) });
        }
      },

      addHost(h) {
        return act(false, async () => {
          let auth: SshAuthRef;
          const id = vaultId(h.site, h.name);
          if (h.auth.kind === 'key') {
            const { ref } = await transport.invoke('vault:storeSecret', {
              kind: 'ssh-private-key',
              id,
              value: h.auth.privateKey,
            });
            auth = { kind: 'key', privateKeyRef: ref };
            if (h.auth.passphrase) {
              const p = await transport.invoke('vault:storeSecret', {
                kind: 'ssh-passphrase',
                id,
                value: h.auth.passphrase,
              });
              auth.passphraseRef = p.ref;
            }
          } else if (h.auth.kind === 'password') {
            const { ref } = await transport.invoke('vault:storeSecret', {
              kind: 'ssh-password',
              id,
              value: h.auth.password,
            });
            auth = { kind: 'password', passwordRef: ref };
          } else auth = { kind: 'agent' };
          const added = await transport.invoke('hosts:add', {
            site: h.site,
            name: h.name,
            address: h.address,
            user: h.user,
            auth,
            ...(h.port ? { port: h.port } : {}),
            ...(h.jumpHostId ? { jumpHostId: h.jumpHostId } : {}),
            ...(h.viaTunnel ? { viaTunnel: true } : {}),
          });
          set({ hosts: [...get().hosts, added] });
          return true;
        });
      },

      setTunnel(t) {
        return act(false, async () => {
          const { ref } = await transport.invoke('vault:storeSecret', {
            kind: 'tunnel-client-key',
            id: vaultId('tunnel', t.site),
            value: t.keyPem,
          });
          const saved = await transport.invoke('tunnels:set', {
            site: t.site,
            door: { host: t.doorHost, port: t.doorPort },
            caPem: t.caPem,
            certPem: t.certPem,
            keyRef: ref,
            ...(t.serverName ? { serverName: t.serverName } : {}),
          });
          set({ tunnels: [...get().tunnels.filter((x) => x.site !== saved.site), saved] });
          return true;
        });
      },

      removeTunnel(site) {
        return act(undefined, async () => {
          await transport.invoke('tunnels:remove', { site });
          set({ tunnels: get().tunnels.filter((x) => x.site !== site) });
        });
      },

      checkHostKey(hostId) {
        return act(undefined, async () => {
          const r = await transport.invoke('hosts:checkHostKey', { hostId });
          if (r.status === 'unknown') set({ hostKeyPrompt: { ...r, hostId } });
          else set({ trusted: { ...get().trusted, [hostId]: true } });
        });
      },

      async acceptHostKey() {
        const p = get().hostKeyPrompt;
        if (!p) return;
        try {
          await transport.invoke('hosts:acceptHostKey', {
            host: p.host,
            port: p.port,
            keyType: p.keyType,
            fingerprint: p.fingerprint,
          });
          set({ hostKeyPrompt: null });
          // The accepted key may have been the jump host's: check again until the host itself is trusted.
          await get().checkHostKey(p.hostId);
        } catch (e) {
          set({ error: toUserError(e) });
        }
      },

      rejectHostKey() {
        set({ hostKeyPrompt: null });
      },

      startRun(r) {
        return act(false, async () => {
          const base = { hostIds: r.hostIds };
          const cluster = () => {
            if (!r.clusterId)
              throw new Error('Open the cluster these hosts belong to first (Clusters page).');
            return r.clusterId;
          };
          const pool = r.pool ? { pool: r.pool } : {};
          const autonomy = r.autonomyDuration ? { autonomyDuration: r.autonomyDuration } : {};
          let info: ProvisionRunInfo;
          switch (r.operation) {
            case 'preflight':
              info = await transport.invoke('provision:preflight', { ...base, clusterId: cluster() });
              break;
            case 'convert':
              info = await transport.invoke('provision:convert', {
                ...base,
                clusterId: cluster(),
                ...pool,
                ...autonomy,
              });
              break;
            case 'join': {
              if (!r.bootstrapToken) throw new Error('Enter the bootstrap token to join with.');
              const { ref } = await transport.invoke('vault:storeSecret', {
                kind: 'bootstrap-token',
                id: vaultId('join'),
                value: r.bootstrapToken,
              });
              info = await transport.invoke('provision:join', {
                ...base,
                clusterId: cluster(),
                bootstrapTokenRef: ref,
                ...pool,
                ...autonomy,
              });
              break;
            }
            case 'revert':
              info = await transport.invoke('provision:revert', { ...base, clusterId: cluster() });
              break;
            case 'upgrade':
              info = await transport.invoke('provision:upgrade', base);
              break;
          }
          const existing = get().runs[info.runId];
          set({
            currentRunId: info.runId,
            runs: { ...get().runs, [info.runId]: existing ? { ...existing, info } : emptyRun(info) },
          });
          return true;
        });
      },

      async cancel(runId) {
        try {
          await transport.invoke('provision:cancel', { runId });
        } catch (e) {
          set({ error: toUserError(e) });
        }
      },
    };
  });
  transport.onState((state) => {
    if (state === 'open') void store.getState().refresh();
  });
  return store;
}
