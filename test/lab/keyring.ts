import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shOk } from './sh.ts';

/**
 * A private Secret Service for one test process: its own D-Bus session bus and a
 * gnome-keyring-daemon whose login keyring lives in a temp dir and is unlocked with a
 * password over stdin (no display needed). `start()` sets DBUS_SESSION_BUS_ADDRESS in
 * process.env, so it must run before keytar is first used (libsecret caches its bus).
 */
export class TestKeyring {
  readonly dir: string;
  readonly busAddress: string;
  private readonly procs: ChildProcess[];
  private readonly previousBus: string | undefined;

  private constructor(
    dir: string,
    busAddress: string,
    procs: ChildProcess[],
    previousBus: string | undefined,
  ) {
    this.dir = dir;
    this.busAddress = busAddress;
    this.procs = procs;
    this.previousBus = previousBus;
  }

  static async start(password = 'edgefleet-test-keyring'): Promise<TestKeyring> {
    const dir = await mkdtemp(join(tmpdir(), 'edgefleet-keyring-'));
    const procs: ChildProcess[] = [];
    const previousBus = process.env.DBUS_SESSION_BUS_ADDRESS;
    try {
      const busAddress = `unix:path=${join(dir, 'bus')}`;
      const bus = spawn(
        'dbus-daemon',
        ['--session', '--nofork', `--address=${busAddress}`, '--print-address=1'],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      procs.push(bus);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error('dbus-daemon did not print its address within 10 s')),
          10_000,
        );
        bus.once('error', reject);
        bus.once('exit', (code) => reject(new Error(`dbus-daemon exited early (code ${code})`)));
        bus.stdout?.once('data', () => {
          clearTimeout(timer);
          resolve();
        });
      });

      const env = {
        ...process.env,
        DBUS_SESSION_BUS_ADDRESS: busAddress,
        HOME: dir,
        XDG_DATA_HOME: join(dir, 'data'),
        XDG_RUNTIME_DIR: join(dir, 'run'),
        XDG_CONFIG_HOME: join(dir, 'config'),
      };
      await mkdir(join(dir, 'run'), { recursive: true, mode: 0o700 });
      const keyring = spawn('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], {
        env,
        stdio: ['pipe', 'ignore', 'pipe'],
      });
      procs.push(keyring);
      let stderr = '';
      keyring.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      keyring.stdin?.end(`${password}\n`);

      const deadline = Date.now() + 15_000;
      const probe = [
        '--session',
        '--print-reply',
        '--dest=org.freedesktop.DBus',
        '/org/freedesktop/DBus',
        'org.freedesktop.DBus.GetNameOwner',
        'string:org.freedesktop.secrets',
      ];
      while (!(await shOk('dbus-send', probe, { env, timeoutMs: 2_000 }))) {
        if (keyring.exitCode !== null)
          throw new Error(`gnome-keyring-daemon exited (code ${keyring.exitCode}): ${stderr}`);
        if (Date.now() > deadline)
          throw new Error(`gnome-keyring-daemon did not claim org.freedesktop.secrets in 15 s: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      process.env.DBUS_SESSION_BUS_ADDRESS = busAddress;
      return new TestKeyring(dir, busAddress, procs, previousBus);
    } catch (e) {
      await stopAll(procs);
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }

  async stop(): Promise<void> {
    await stopAll(this.procs);
    if (this.previousBus === undefined) delete process.env.DBUS_SESSION_BUS_ADDRESS;
    else process.env.DBUS_SESSION_BUS_ADDRESS = this.previousBus;
    await rm(this.dir, { recursive: true, force: true });
  }
}

async function stopAll(procs: ChildProcess[]): Promise<void> {
  // Keyring first (it talks to the bus), then the bus.
  for (const p of [...procs].reverse()) {
    if (p.exitCode !== null || p.signalCode !== null) continue;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  }
}
