/**
 * The sites and hosts the user provisions: one JSON file next to the settings (0600), holding
 * addresses and vault references only. Like the settings store, it refuses to write anything
 * that looks like a secret.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AppError } from '../ipc/errors.ts';
import type { SiteHost } from '../ipc/types.ts';
import { findSecretFields } from '../settings/schema.ts';
import type { SshTarget } from './ssh-session.ts';

interface HostsFile {
  version: 1;
  hosts: SiteHost[];
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
      const tmp = `${this.path}.${process.pid}.tmp`;
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(`${JSON.stringify(f, null, 2)}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.path);
      this.cache = f;
      return out;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }
}
