/**
 * Settings on disk: one JSON file, written atomically (writeJsonAtomic) with mode 0600,
 * refusing to write anything that looks like a secret.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeJsonAtomic } from '../../src-agent/api/atomic-file.ts';
import { AppError } from '../ipc/errors.ts';
import { emptySettings, findSecretFields, type Settings } from './schema.ts';

export function defaultSettingsPath(): string {
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'edgefleet', 'settings.json');
}

export class SettingsStore {
  readonly path: string;
  private cache: Settings | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(path: string = defaultSettingsPath()) {
    this.path = path;
  }

  async load(): Promise<Settings> {
    if (this.cache) return this.cache;
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        this.cache = emptySettings();
        return this.cache;
      }
      throw new AppError(
        'settings/read',
        `Cannot read settings ${this.path}: ${(e as Error).message}`,
        'Check the file permissions.',
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new AppError(
        'settings/corrupt',
        `Settings file ${this.path} is not valid JSON: ${(e as Error).message}`,
        'Fix or remove the file; EdgeFleet starts with empty settings without it.',
      );
    }
    if (typeof parsed !== 'object' || parsed === null || (parsed as { version?: unknown }).version !== 1) {
      throw new AppError(
        'settings/version',
        `Settings file ${this.path} has an unknown version`,
        'Fix or remove the file.',
      );
    }
    const s = parsed as Settings;
    if (!Array.isArray(s.importedSources)) s.importedSources = [];
    this.cache = s;
    return s;
  }

  /** Serialised read-modify-write so concurrent IPC calls cannot lose each other's changes. */
  update(change: (s: Settings) => void | Promise<void>): Promise<Settings> {
    const next = this.queue.then(async () => {
      const current = structuredClone(await this.load());
      await change(current);
      await this.write(current);
      this.cache = current;
      return current;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async write(s: Settings): Promise<void> {
    const leaks = findSecretFields(s);
    if (leaks.length > 0) {
      // A bug elsewhere tried to persist a secret; refuse rather than leak it to disk.
      throw new AppError(
        'settings/secret-refused',
        `Refusing to write settings: secret-looking values at ${leaks.join(', ')}`,
      );
    }
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    try {
      await writeJsonAtomic(this.path, s);
    } catch (e) {
      throw new AppError(
        'settings/write',
        `Cannot write settings ${this.path}: ${(e as Error).message}`,
        'Check free disk space and permissions.',
      );
    }
  }
}
