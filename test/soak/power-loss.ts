/**
 * `npm run soak -- power-loss [--minutes N] [--seed S]` (issue 15, scenario 2, short form): the hub
 * process (TypeScript sources, as `npm run bench -- hub --ts` runs it) in front of the lab API server,
 * kubelet-shaped LISTs and WATCHes streaming through it while the cloud changes the objects, and a
 * `kill -9` at a seeded random moment. After each kill the hub is started with the uplink cut and
 * must answer from its cache: every object it serves must be one the cloud really had at some time
 * (no torn, mixed or invented object), then it is killed again before the link comes back.
 *
 * Not yet: the disk-full cycles and 1,000 kills (about 6 s a cycle here, so `--minutes 100`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster } from '../lab/cluster.ts';
import { LoopbackLink, requestText, startHubLabCluster } from '../lab/hub-support.ts';
import { freePort } from '../lab/proc.ts';
import { prng, type SoakContext, type SoakScenario } from './soak.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const NS = 'power-loss';
const OBJECTS = 150;
const KUBELET_UA = 'kubelet/v1.36.0 (linux/amd64) kubernetes/soak';
const START_TIMEOUT_MS = 30_000;

/** Every `data.v` each ConfigMap ever had in the cloud: an answer from the cache must be one of them. */
type History = Map<string, Set<string>>;

interface HubProcess {
  child: ChildProcess;
  stderr: string[];
}

function startHub(configPath: string): HubProcess {
  const child = spawn(process.execPath, [join(ROOT, 'src-agent', 'main.ts'), 'hub', '--config', configPath], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (c: string) => {
    stderr.push(c);
    if (stderr.length > 50) stderr.shift();
  });
  return { child, stderr };
}

async function kill9(h: HubProcess): Promise<void> {
  if (h.child.exitCode !== null || h.child.signalCode !== null) return;
  const exited = new Promise((r) => h.child.once('exit', r));
  h.child.kill('SIGKILL');
  await exited;
}

/** Polls the admin endpoint until it answers 200 (bounded); false when the hub never came up or exited. */
async function waitFor(adminPort: number, path: string, h: HubProcess): Promise<boolean> {
  const end = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < end) {
    if (h.child.exitCode !== null) return false;
    const r = await requestText(http, { host: '127.0.0.1', port: adminPort, path }, undefined, 2_000).catch(
      () => undefined,
    );
    if (r?.status === 200) return true;
    await sleep(100);
  }
  return false;
}

/**
 * Started means the proxy takes connections: healthz answers earlier (the admin listener comes up
 * first, so readyz can say why the rest is not ready yet).
 */
async function waitForProxy(proxyPort: number, h: HubProcess): Promise<boolean> {
  const end = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < end) {
    if (h.child.exitCode !== null) return false;
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(proxyPort, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return true;
    await sleep(50);
  }
  return false;
}

async function countFiles(dir: string): Promise<number> {
  const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
  let n = 0;
  for (const e of entries) n += e.isDirectory() ? await countFiles(join(dir, e.name)) : 1;
  return n;
}

/** A kubelet-shaped client: LIST, then WATCH from the list's resourceVersion, again and again until stopped. */
function kubeletClient(proxyPort: number, stop: { stopped: boolean }): Promise<void> {
  const path = `/api/v1/namespaces/${NS}/configmaps`;
  return (async () => {
    while (!stop.stopped) {
      const list = await requestText(http, {
        host: '127.0.0.1',
        port: proxyPort,
        path: `${path}?limit=500`,
        headers: { 'user-agent': KUBELET_UA, accept: 'application/json' },
      }).catch(() => undefined);
      if (list?.status !== 200) {
        await sleep(50);
        continue;
      }
      const rv = (JSON.parse(list.body) as { metadata: { resourceVersion: string } }).metadata
        .resourceVersion;
      await requestText(
        http,
        {
          host: '127.0.0.1',
          port: proxyPort,
          path: `${path}?watch=true&resourceVersion=${rv}&timeoutSeconds=2&allowWatchBookmarks=true`,
          headers: { 'user-agent': KUBELET_UA, accept: 'application/json' },
        },
        undefined,
        5_000,
      ).catch(() => undefined);
    }
  })();
}

export const scenario: SoakScenario = {
  summary:
    'kill -9 of the hub while kubelet-shaped lists and watches stream through it; offline reads from the cache afterwards',
  defaultMinutes: 3,
  needsLab: true,
  async run(ctx: SoakContext) {
    const dir = await fsp.mkdtemp(join(tmpdir(), 'edgefleet-soak-power-'));
    let cluster: Cluster | undefined;
    let link: LoopbackLink | undefined;
    let hub: HubProcess | undefined;
    const figures = {
      cycles: 0,
      kills: 0,
      startsFailed: 0,
      offlineRefused: 0,
      wrongReads: 0,
      readsChecked: 0,
      writes: 0,
      missing: 0,
    };
    let quarantined = 0;
    try {
      ctx.schedule('starting the lab control plane');
      cluster = await startHubLabCluster(dir);
      const c = cluster;
      const admin = await c.pki.issueClientCert('soak-admin', 'soak-admin', ['system:masters']);
      const api = new URL(c.apiServerUrl);
      const agent = new https.Agent({
        keepAlive: true,
        ca: readFileSync(c.caCertPath),
        cert: readFileSync(admin.cert),
        key: readFileSync(admin.key),
      });
      await c.kubectl(['create', 'namespace', NS]);
      // The namespace's own kube-root-ca.crt (no data.v) is a real object too.
      const history: History = new Map([['kube-root-ca.crt', new Set([''])]]);
      const items = Array.from({ length: OBJECTS }, (_, i) => {
        history.set(`cm-${i}`, new Set(['v0']));
        // Sizes from 100 B to 20 KB, so some writes span several disk blocks.
        const pad = 'x'.repeat(100 + Math.floor(ctx.random() * 20_000));
        return {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `cm-${i}`, namespace: NS },
          data: { v: 'v0', pad },
        };
      });
      await c.kubectl(['apply', '--server-side', '-f', '-'], {
        input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
        timeoutMs: 120_000,
      });
      await c.kubectl(['apply', '-f', '-'], {
        input: JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'soak-node' } }),
      });

      link = new LoopbackLink(Number(api.port));
      await link.up();
      const proxyPort = await freePort();
      const adminPort = await freePort();
      const hubDir = join(dir, 'hub');
      await fsp.mkdir(hubDir, { recursive: true, mode: 0o700 });
      const cacheDir = join(hubDir, 'cache');
      const configPath = join(hubDir, 'hub.json');
      await fsp.writeFile(
        configPath,
        JSON.stringify({
          nodeName: 'soak-node',
          servers: [`https://127.0.0.1:${link.port}`],
          strategy: 'priority',
          tls: { certFile: admin.cert, keyFile: admin.key, caFile: c.caCertPath },
          proxyListen: `127.0.0.1:${proxyPort}`,
          adminListen: `127.0.0.1:${adminPort}`,
          cacheDir,
          journalDir: join(hubDir, 'journal'),
          cacheKeyFile: join(hubDir, 'cache.key'),
          heartbeatIntervalSeconds: 2,
          kubeletSilenceSeconds: 3600,
          gcIntervalSeconds: 3600,
        }),
      );

      /** The cloud changes objects all through the load, so the hub's cache is always being written. */
      // Its own PRNG: the kill times drawn from ctx.random must not depend on how many writes went out.
      const pick = prng(ctx.seed ^ 0x9e3779b9);
      const mutate = async (cycle: number, stop: { stopped: boolean }) => {
        for (let n = 0; !stop.stopped; n++) {
          const name = `cm-${Math.floor(pick() * OBJECTS)}`;
          const v = `c${cycle}-${n}`;
          // Recorded before the write: an answer of v is possible from the moment the write is sent.
          history.get(name)?.add(v);
          await requestText(
            https,
            {
              host: api.hostname,
              port: api.port,
              method: 'PATCH',
              path: `/api/v1/namespaces/${NS}/configmaps/${name}`,
              agent,
              headers: { 'content-type': 'application/merge-patch+json' },
            },
            JSON.stringify({ data: { v } }),
          ).catch(() => undefined);
          figures.writes++;
          await sleep(20);
        }
      };

      let everListed = false;
      for (let cycle = 1; Date.now() < ctx.deadline || cycle === 1; cycle++) {
        figures.cycles = cycle;
        // Online: load, then kill -9 at a random moment.
        hub = startHub(configPath);
        if (!(await waitFor(adminPort, '/v1/readyz', hub))) {
          figures.startsFailed++;
          ctx.schedule(`cycle ${cycle}: online start failed: ${hub.stderr.join('').slice(-400)}`);
          await kill9(hub);
          continue;
        }
        const stop = { stopped: false };
        const load = [kubeletClient(proxyPort, stop), kubeletClient(proxyPort, stop), mutate(cycle, stop)];
        const killAfter = 200 + Math.floor(ctx.random() * 3_000);
        await sleep(killAfter);
        await kill9(hub);
        figures.kills++;
        stop.stopped = true;
        await Promise.all(load);

        // Offline: the uplink cut, a fresh hub must serve what it cached, and only what the cloud had.
        await link.cut();
        hub = startHub(configPath);
        const started = await waitForProxy(proxyPort, hub);
        let line = `cycle ${cycle}: killed ${killAfter} ms into the load`;
        if (!started) {
          figures.startsFailed++;
          ctx.schedule(`${line}; offline start failed: ${hub.stderr.join('').slice(-400)}`);
        } else {
          const r = await requestText(http, {
            host: '127.0.0.1',
            port: proxyPort,
            path: `/api/v1/namespaces/${NS}/configmaps`,
            headers: { 'user-agent': KUBELET_UA, accept: 'application/json' },
          }).catch((e: Error) => ({ status: 0, body: e.message }));
          if (r.status !== 200) {
            // Before the first complete list landed in the cache, refusing is the honest answer.
            if (everListed) figures.offlineRefused++;
            line += `; offline LIST answered ${r.status} (${r.body.slice(0, 200)})${everListed ? '' : ' (nothing cached yet)'}`;
          } else {
            everListed = true;
            const got = (
              JSON.parse(r.body) as { items: { metadata: { name: string }; data?: { v?: string } }[] }
            ).items;
            let wrong = 0;
            for (const o of got) {
              figures.readsChecked++;
              const seen = history.get(o.metadata.name);
              if (!seen?.has(o.data?.v ?? '')) {
                wrong++;
                ctx.schedule(
                  `  wrong read: ${o.metadata.name} v=${JSON.stringify(o.data?.v)} was never in the cloud`,
                );
              }
            }
            figures.wrongReads += wrong;
            // No object is ever deleted, so a list with fewer than all of them lost some.
            const missing = history.size - new Set(got.map((o) => o.metadata.name)).size;
            figures.missing += Math.max(0, missing);
            line += `; offline LIST served ${got.length} objects, ${wrong} wrong, ${missing} missing`;
          }
        }
        const q = await countFiles(join(cacheDir, '.quarantine'));
        if (q > quarantined) line += `; ${q - quarantined} cache file(s) quarantined`;
        quarantined = q;
        ctx.schedule(line);
        await kill9(hub);
        figures.kills++;
        await link.up();
      }
    } finally {
      if (hub) await kill9(hub).catch(() => undefined);
      await link?.cut().catch(() => undefined);
      await cluster?.stop().catch((e: Error) => ctx.schedule(`cluster stop failed: ${e.message}`));
      await fsp.rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
    ctx.figure('cycles', figures.cycles);
    ctx.figure('kill -9 of the hub', figures.kills);
    ctx.figure('cloud writes during the load', figures.writes);
    ctx.figure('starts that failed', figures.startsFailed, { text: '0', met: figures.startsFailed === 0 });
    ctx.figure('cache files quarantined', quarantined);
    ctx.figure('offline lists refused after the cache had one', figures.offlineRefused, {
      text: '0',
      met: figures.offlineRefused === 0,
    });
    ctx.figure('objects read offline', figures.readsChecked);
    ctx.figure('reads answered wrongly', figures.wrongReads, { text: '0', met: figures.wrongReads === 0 });
    ctx.figure('objects missing from offline lists', figures.missing, {
      text: '0',
      met: figures.missing === 0,
    });
  },
};
