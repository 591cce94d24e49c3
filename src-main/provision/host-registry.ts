/**
 * The sites and hosts the user provisions, and per site how its tunnel access door is reached:
 * one JSON file next to the settings (0600), holding addresses, certificates and vault references
 * only. Like the settings store, it refuses to write anything that looks like a secret.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeJsonAtomic } from '../../src-agent/api/atomic-file.ts';
import { AppError } from '../ipc/errors.ts';
import type { SiteHost, TunnelAccessProfile } from '../ipc/types.ts';
import { findSecretFields } from '../settings/schema.ts';
import type { SshTarget } from './ssh-session.ts';

interface HostsFile {
  version: 1;
  hosts: SiteHost[];
  /** One per site at most (absent in files written before tunnel access existed). */
  tunnels?: TunnelAccessProfile[];
}

/** Where a host's SSH connection starts: the host itself, or the first jump host of its chain. */
export interface FirstHop {
  host: SiteHost;
  /** Set when that first hop is reached through the site's tunnel access door. */
  tunnel?: TunnelAccessProfile;
}

export class HostRegistry {
  readonly path: string;
  private cache: HostsFile | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
  }

  async list(): Promise<SiteHost[]> {
    return (await this.load()).hosts;
  }

  async get(id: string): Promise<SiteHost> {
    const h = (await this.load()).hosts.find((x) => x.id === id);
    if (!h) throw new AppError('hosts/unknown', `No host ${id}`, 'Add the host first.');
    return h;
  }

  add(host: Omit<SiteHost, 'id'>): Promise<SiteHost> {
    return this.update((f) => {
      const id = `${host.site}/${host.name}`;
      if (f.hosts.some((h) => h.id === id))
        throw new AppError('hosts/exists', `Host ${host.name} is already in site ${host.site}`);
      if (host.jumpHostId && !f.hosts.some((h) => h.id === host.jumpHostId))
        throw new AppError('hosts/unknown-jump', `Jump host ${host.jumpHostId} is not registered`);
      if (host.jumpHostId && host.viaTunnel)
        throw new AppError(
          'hosts/tunnel-and-jump',
          `${id} cannot be reached both through the tunnel and through jump host ${host.jumpHostId}`,
          'Mark the jump host "via tunnel" instead: the tunnel then carries the whole chain.',
        );
      const added: SiteHost = { id, ...host };
      f.hosts.push(added);
      return added;
    });
  }

  remove(id: string): Promise<null> {
    return this.update((f) => {
      const user = f.hosts.find((h) => h.jumpHostId === id);
      if (user)
        throw new AppError(
          'hosts/in-use',
          `${id} is the jump host of ${user.id}`,
          `Remove ${user.id} first.`,
        );
      f.hosts = f.hosts.filter((h) => h.id !== id);
      return null;
    });
  }

  /** The SSH target for a host, its jump chain resolved (a loop is refused). */
  async target(id: string, seen: string[] = []): Promise<SshTarget> {
    if (seen.includes(id))
      throw new AppError('hosts/jump-loop', `Jump hosts loop: ${[...seen, id].join(' → ')}`);
    const h = await this.get(id);
    return {
      host: h.address,
      port: h.port,
      username: h.user,
      auth: h.auth,
      ...(h.jumpHostId ? { jump: await this.target(h.jumpHostId, [...seen, id]) } : {}),
    };
  }

  /**
   * The first hop of a host's jump chain and, when it is a via-tunnel host, its site's tunnel
   * access profile (missing profile: a clear error before any connection is tried).
   */
  async firstHop(id: string, seen: string[] = []): Promise<FirstHop> {
    if (seen.includes(id))
      throw new AppError('hosts/jump-loop', `Jump hosts loop: ${[...seen, id].join(' → ')}`);
    const h = await this.get(id);
    if (h.jumpHostId) return this.firstHop(h.jumpHostId, [...seen, id]);
    if (!h.viaTunnel) return { host: h };
    const tunnel = (await this.load()).tunnels?.find((t) => t.site === h.site);
    if (!tunnel)
      throw new AppError(
        'provision/no-tunnel-profile',
        `${h.id} is reached through the EdgeFleet tunnel, but site ${h.site} has no tunnel access set up`,
        "Set the site's tunnel access (access door address, CA, operator certificate and key) first.",
      );
    return { host: h, tunnel };
  }

  async tunnels(): Promise<TunnelAccessProfile[]> {
    return (await this.load()).tunnels ?? [];
  }

  /** Adds or replaces the tunnel access of `profile.site`. */
  setTunnel(profile: TunnelAccessProfile): Promise<TunnelAccessProfile> {
    return this.update((f) => {
      f.tunnels = [...(f.tunnels ?? []).filter((t) => t.site !== profile.site), profile];
      return profile;
    });
  }

  removeTunnel(site: string): Promise<null> {
    return this.update((f) => {
      f.tunnels = (f.tunnels ?? []).filter((t) => t.site !== site);
      return null;
    });
  }

  private async load(): Promise<HostsFile> {
    if (this.cache) return this.cache;
    try {
      const parsed = JSON.parse(await readFile(this.path, 'utf8')) as HostsFile;
      if (parsed.version !== 1 || !Array.isArray(parsed.hosts)) throw new Error('unknown format');
      this.cache = parsed;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new AppError(
          'hosts/corrupt',
          `Cannot read the host list ${this.path}: ${(e as Error).message}`,
          'Fix or remove the file.',
        );
      this.cache = { version: 1, hosts: [] };
    }
    return this.cache;
  }

  private update<T>(change: (f: HostsFile) => T): Promise<T> {
    const next = this.queue.then(async () => {
      const f = structuredClone(await this.load());
      const out = change(f);
      const leaks = findSecretFields(f);
      if (leaks.length)
        throw new AppError(
          'hosts/secret-refused',
          `Refusing to write secret-looking values at ${leaks.join(', ')}`,
        );
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      await writeJsonAtomic(this.path, f);
      this.cache = f;
      return out;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }
}
