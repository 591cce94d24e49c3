/**
 * The app in browser mode (`npm start` with EDGEFLEET_BROWSER=1) for the e2e tests: built once,
 * started with a private HOME, config dir and keyring, stopped and cleaned up step by step.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright';
import type { TestKeyring } from '../lab/keyring.ts';
import type { Lab } from '../lab/lab.ts';
import { until } from '../lab/until.ts';
import { launchChromium } from './chromium.ts';

export const REPO = resolve(import.meta.dirname, '../..');

export { until };

/** Builds main, preload and renderer so `scripts/start.mjs` serves the current code. */
export function buildApp(): void {
  const build = spawnSync('npx', ['electron-vite', 'build'], { cwd: REPO, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('electron-vite build failed');
}

/**
 * One app process in browser mode. HOME and XDG_CONFIG_HOME live under `dir`, so settings and
 * logs the test inspects are its own; the vault talks to the test's keyring over D-Bus.
 */
export class BrowserApp {
  readonly configHome: string;
  readonly #dir: string;
  readonly #keyring: TestKeyring;
  #child: ChildProcess | undefined;
  #output = '';
  #url = '';

  readonly #env: NodeJS.ProcessEnv;
  readonly #repo: string;

  /**
   * `env`: extra variables for the app (e.g. EDGEFLEET_CACHE kept on the shared binary cache);
   * `repo`: the (built) checkout to run, this one unless a benchmark compares against another.
   */
  constructor(dir: string, keyring: TestKeyring, env: NodeJS.ProcessEnv = {}, repo = REPO) {
    this.#dir = dir;
    this.#keyring = keyring;
    this.#env = env;
    this.#repo = repo;
    this.configHome = join(dir, 'config');
  }

  /** Everything the app printed on stdout and stderr so far. */
  get output(): string {
    return this.#output;
  }

  /** The app's process id: main runs in this process in browser mode (benchmarks read its /proc). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** The URL (with its token) the app printed for the browser. */
  get url(): string {
    return this.#url;
  }

  async start(): Promise<void> {
    const home = join(this.#dir, 'home');
    await mkdir(home, { recursive: true });
    await mkdir(this.configHome, { recursive: true });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: home,
      XDG_CONFIG_HOME: this.configHome,
      EDGEFLEET_BROWSER: '1',
      DBUS_SESSION_BUS_ADDRESS: this.#keyring.busAddress,
      ...this.#env,
    };
    delete env.KUBECONFIG;
    const child = spawn(process.execPath, ['scripts/start.mjs'], {
      cwd: this.#repo,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    child.stdout?.on('data', (d: Buffer) => {
      this.#output += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      this.#output += d.toString();
    });
    this.#url = await until('the app to print its URL', 60_000, async () => {
      if (child.exitCode !== null) throw new Error(`app exited (${child.exitCode}):\n${this.#output}`);
      return /open (http:\/\/127\.0\.0\.1:\d+\/#token=\S+)/.exec(this.#output)?.[1];
    });
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  async stop(graceMs = 5_000): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * The app on `dir` and `keyring`, and Chromium on its first page once the vault notice shows (page
 * errors logged). Whatever this started is stopped again when a later step fails, so the caller's
 * teardown only has to handle what it got back.
 */
export async function openAppInChromium(
  dir: string,
  keyring: TestKeyring,
  viewport = { width: 1366, height: 768 },
): Promise<{ app: BrowserApp; browser: Browser; page: Page }> {
  const app = new BrowserApp(dir, keyring);
  await app.start();
  let browser: Browser | undefined;
  try {
    browser = await launchChromium();
    const page = await browser.newPage({ viewport });
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    await page.goto(app.url);
    await page.getByText('Secrets are stored in the OS keychain').waitFor({ timeout: 15_000 });
    return { app, browser, page };
  } catch (e) {
    await runTeardown([
      ['browser', async () => browser?.close()],
      ['app', async () => app.stop()],
    ]).catch(() => undefined);
    throw e;
  }
}

/** What an e2e test started, in any state of its beforeAll (anything may still be missing). */
export interface E2eResources {
  browser: Browser | undefined;
  app: BrowserApp | undefined;
  lab: Lab | undefined;
  keyring: TestKeyring | undefined;
  dir: string;
}

/** Stops the browser, the app, the lab and the keyring and removes the temp dir, in that order. */
export function tearDownE2e(r: E2eResources): Promise<void> {
  return runTeardown([
    ['browser', async () => r.browser?.close()],
    ['app', async () => r.app?.stop()],
    ['lab', async () => r.lab?.stop()],
    ['keyring', async () => r.keyring?.stop()],
    ['temp dir', async () => r.dir && rm(r.dir, { recursive: true, force: true })],
  ]);
}

/** Runs every cleanup step even when one fails, then reports all failures together. */
async function runTeardown(steps: [string, () => Promise<unknown>][]): Promise<void> {
  const errors: string[] = [];
  for (const [what, step] of steps) {
    try {
      await step();
    } catch (e) {
      errors.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (errors.length > 0) throw new Error(`cleanup failed: ${errors.join('; ')}`);
}
