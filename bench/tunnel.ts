/**
 * `npm run bench -- tunnel [--quick]`: the tunnel on loopback, figures side by side:
 *  - one 200 MB stream through the tunnel vs direct TCP (goal: tunnel >= 70% of direct)
 *  - 1 KB request/response latency p50/p99, tunnel vs direct
 *  - 1,000 concurrent streams on one agent: open time, round trip, server RSS and CPU
 *  - 500 agents on one server: connect time, server RSS and CPU (agents in this process)
 * Server and agent are real processes (src-agent/main.ts); targets run in a child process.
 * Every loop is bounded in count and time.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { openTunnelStream } from '../src-agent/api/tunnel-client.ts';
import { parseTunnelAgentConfig, type TunnelServerStatus } from '../src-agent/api/tunnel-config.ts';
import { TunnelAgent } from '../src-agent/tunnel/agent.ts';
import { createLogger } from '../src-agent/tunnel/log.ts';
import { freePort } from '../test/lab/proc.ts';
import {
  agentProc,
  echoRoundTrip,
  getJson,
  makeTunnelPki,
  median,
  msg,
  type Proc,
  readBlast,
  serverProc,
  targetsProc,
  writeJson,
} from '../test/lab/tunnel/fixtures.ts';

const CLK_TCK = 100;

function procStats(pid: number): { rssMB: number; cpuSec: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpu = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  return { rssMB: rssKb / 1024, cpuSec: cpu };
}

/**
 * CPU seconds of named groups of processes (and of this process, the reading end, counted in
 * `ends`) summed over the measured calls.
 */
class CpuMeter {
  private readonly parts: Record<string, number[]>;
  private readonly spent: Record<string, number> = {};

  constructor(parts: Record<string, number[]>) {
    this.parts = parts;
    for (const k of Object.keys(parts)) this.spent[k] = 0;
  }

  async during<T>(fn: () => Promise<T>): Promise<T> {
    const before = this.read();
    const out = await fn();
    const after = this.read();
    for (const k of Object.keys(this.parts))
      this.spent[k] = (this.spent[k] ?? 0) + (after[k] ?? 0) - (before[k] ?? 0);
    return out;
  }

  perMB(mb: number): { total: number; byPart: Record<string, number> } {
    const byPart = Object.fromEntries(Object.entries(this.spent).map(([k, sec]) => [k, (sec * 1000) / mb]));
    return { total: Object.values(byPart).reduce((a, b) => a + b, 0), byPart };
  }

  private read(): Record<string, number> {
    const own = process.cpuUsage();
    const out: Record<string, number> = {};
    for (const [k, pids] of Object.entries(this.parts)) {
      out[k] = pids.reduce((sum, pid) => sum + procStats(pid).cpuSec, 0);
    }
    out.ends = (out.ends ?? 0) + (own.user + own.system) / 1e6;
    return out;
  }
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function latency(
  sock: Duplex,
  count: number,
  budgetMs: number,
): Promise<{ p50: number; p99: number; n: number }> {
  const payload = Buffer.alloc(1024, 0x62);
  const times: number[] = [];
  const stopAt = Date.now() + budgetMs;
  for (let i = 0; i < count && Date.now() < stopAt; i++) {
    const t = performance.now();
    await echoRoundTrip(sock, payload);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { p50: pct(times, 50), p99: pct(times, 99), n: times.length };
}

function directConnect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.setNoDelay(true);
    s.once('error', reject);
  });
}

const row = (label: string, tunnel: string, direct: string, note = '') =>
  console.log(`${label.padEnd(34)} ${tunnel.padStart(14)} ${direct.padStart(14)}  ${note}`);

export async function run(args: string[] = []): Promise<void> {
  const quick = args.includes('--quick');
  const streamMB = quick ? 50 : 200;
  const concurrent = quick ? 200 : 1000;
  const agentsWanted = quick ? 50 : 500;
  // --window=<bytes>: HTTP/2 per-stream window on both sides (default: the config default).
  const window = Number(args.find((a) => a.startsWith('--window='))?.slice('--window='.length) ?? 0);
  const dir = await mkdtemp(join(tmpdir(), 'ef-tunnel-bench-'));
  const procs: Proc[] = [];
  const inProcessAgents: TunnelAgent[] = [];
  try {
    const pki = await makeTunnelPki(dir, ['127.0.0.1']);
    const [agentPort, egressPort, adminPort, echoPort, blastPort, relayIn, relayMid] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const serverConfig = await writeJson(join(dir, 'server.json'), {
      serverId: 'bench',
      listen: `127.0.0.1:${agentPort}`,
      tls: { certFile: pki.server.cert, keyFile: pki.server.key, caFile: pki.pki.ca.cert },
      egress: { tcp: `127.0.0.1:${egressPort}`, allowedPorts: [echoPort, blastPort] },
      admin: { listen: `127.0.0.1:${adminPort}` },
      ...(window ? { streamWindowBytes: window } : {}),
    });
    const targets = await targetsProc(null, { echo: [echoPort], blast: [blastPort] });
    procs.push(targets);
    // The ceiling any two-hop design has here: two plain forwarding processes (first relay in the
    // server's place, second in the agent's), no TLS, no multiplexing.
    const relays = [
      await targetsProc(null, { relay: [`${relayMid}:${blastPort}`] }),
      await targetsProc(null, { relay: [`${relayIn}:${relayMid}`] }),
    ];
    procs.push(...relays);
    const server = serverProc(serverConfig);
    procs.push(server);
    await server.waitFor(msg('tunnel admin endpoint listening'), 15_000);
    const agentCert = await pki.agent('bench-node');
    const agentConfig = {
      nodeName: 'bench-node',
      servers: [`127.0.0.1:${agentPort}`],
      tls: { certFile: agentCert.cert, keyFile: agentCert.key, caFile: pki.pki.ca.cert },
      allowedPorts: [echoPort, blastPort],
      ...(window ? { streamWindowBytes: window } : {}),
    };
    const agent = agentProc('agent', null, await writeJson(join(dir, 'agent.json'), agentConfig));
    procs.push(agent);
    await agent.waitFor(msg('connected to tunnel server'), 15_000);
    const serverPid = server.child.pid ?? 0;
    const viaTunnel = () =>
      openTunnelStream({ host: '127.0.0.1', port: egressPort }, `bench-node:${blastPort}`);
    const echoViaTunnel = () =>
      openTunnelStream({ host: '127.0.0.1', port: egressPort }, `bench-node:${echoPort}`);

    console.log(`tunnel bench (loopback, Node ${process.version}${quick ? ', --quick' : ''})`);
    row('', 'tunnel', 'direct');

    // 1. One big stream. The first streams of a process run before V8 has optimised the data
    // path (both ways roughly double over the first few hundred MB), so one warm-up stream each,
    // then rounds alternating direct/tunnel and the median of each (the machine is shared).
    const bytes = streamMB * 1024 * 1024;
    const warmBytes = 50 * 1024 * 1024;
    const coldDirect = await readBlast(await directConnect(blastPort), warmBytes);
    const coldTunnel = await readBlast(await viaTunnel(), warmBytes);
    await readBlast(await directConnect(relayIn), warmBytes);
    const direct: number[] = [];
    const tunnel: number[] = [];
    const relayed: number[] = [];
    // CPU time every process on the path spends per MB: on a CPU-bound machine this, not the
    // link, sets the ceiling (cores x 1000 ms / CPU ms per MB).
    const pathPids = { ends: [targets.child.pid ?? 0], server: [serverPid], agent: [agent.child.pid ?? 0] };
    const cpuDirect = new CpuMeter({ ends: pathPids.ends });
    const cpuTunnel = new CpuMeter(pathPids);
    const cpuRelay = new CpuMeter({ ends: pathPids.ends, relays: relays.map((r) => r.child.pid ?? 0) });
    for (let i = 0; i < (quick ? 1 : 3); i++) {
      direct.push(await cpuDirect.during(async () => readBlast(await directConnect(blastPort), bytes)));
      tunnel.push(await cpuTunnel.during(async () => readBlast(await viaTunnel(), bytes)));
      relayed.push(await cpuRelay.during(async () => readBlast(await directConnect(relayIn), bytes)));
    }
    const directMBps = median(direct);
    const tunnelMBps = median(tunnel);
    row(
      `${streamMB} MB stream (MB/s, median)`,
      tunnelMBps.toFixed(0),
      directMBps.toFixed(0),
      `tunnel = ${((100 * tunnelMBps) / directMBps).toFixed(0)}% of direct (goal >= 70%); rounds tunnel ${tunnel.map((x) => x.toFixed(0)).join('/')} direct ${direct.map((x) => x.toFixed(0)).join('/')}`,
    );
    const relayMBps = median(relayed);
    row(
      'baseline: 2 plain TCP relays (MB/s)',
      relayMBps.toFixed(0),
      directMBps.toFixed(0),
      `= ${((100 * relayMBps) / directMBps).toFixed(0)}% of direct: the most any tunnel with a server and an agent process can reach on this machine; tunnel = ${((100 * tunnelMBps) / relayMBps).toFixed(0)}% of it`,
    );
    row('first 50 MB, cold (MB/s)', coldTunnel.toFixed(0), coldDirect.toFixed(0));
    const mb = (bytes / 1e6) * direct.length;
    const tunnelCpu = cpuTunnel.perMB(mb);
    const directCpu = cpuDirect.perMB(mb);
    const relayCpu = cpuRelay.perMB(mb);
    row(
      'CPU per MB, all processes (ms)',
      tunnelCpu.total.toFixed(2),
      directCpu.total.toFixed(2),
      `tunnel: ${Object.entries(tunnelCpu.byPart)
        .map(([k, v]) => `${k} ${v.toFixed(2)}`)
        .join(
          ', ',
        )}; 2 plain relays ${relayCpu.total.toFixed(2)}; ceiling on ${availableParallelism()} cores: tunnel ${((availableParallelism() * 1000) / tunnelCpu.total).toFixed(0)} MB/s, direct ${((availableParallelism() * 1000) / directCpu.total).toFixed(0)} MB/s`,
    );

    // 2. 1 KB request/response.
    const dSock = await directConnect(echoPort);
    const tSock = await echoViaTunnel();
    await latency(dSock, 200, 5_000);
    await latency(tSock, 200, 5_000);
    const d = await latency(dSock, 5_000, 20_000);
    const t = await latency(tSock, 5_000, 20_000);
    dSock.destroy();
    tSock.destroy();
    row('1 KB req/resp p50 (ms)', t.p50.toFixed(3), d.p50.toFixed(3), `${t.n} round trips`);
    row('1 KB req/resp p99 (ms)', t.p99.toFixed(3), d.p99.toFixed(3));

    // 3. Many concurrent streams on one agent.
    const idle = procStats(serverPid);
    const t0 = performance.now();
    const streams: Duplex[] = [];
    for (let i = 0; i < concurrent; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, concurrent - i) }, () => echoViaTunnel()),
      );
      streams.push(...batch);
    }
    const openMs = performance.now() - t0;
    const t1 = performance.now();
    await Promise.all(streams.map((s) => echoRoundTrip(s, Buffer.alloc(1024, 0x63))));
    const rtAllMs = performance.now() - t1;
    const loaded = procStats(serverPid);
    const status = await getJson<TunnelServerStatus>(`http://127.0.0.1:${adminPort}/v1/agents`);
    console.log(
      `${concurrent} concurrent streams: opened in ${openMs.toFixed(0)} ms, 1 KB echo on all in ${rtAllMs.toFixed(0)} ms, ` +
        `server RSS ${idle.rssMB.toFixed(0)} -> ${loaded.rssMB.toFixed(0)} MB, server CPU ${(loaded.cpuSec - idle.cpuSec).toFixed(2)} s, ` +
        `open on agent: ${status.agents[0]?.streamsOpen ?? '?'}`,
    );
    for (const s of streams) s.destroy();
    await agent.stop();

    // 4. Many agents on one server (in this process, so the server's figures stand alone).
    const before = procStats(serverPid);
    const certs = [];
    for (let i = 0; i < agentsWanted; i++) certs.push(await pki.agent(`edge-${i}`));
    const quiet = createLogger('bench-agent', () => {});
    const ta = performance.now();
    for (let i = 0; i < agentsWanted; i++) {
      const c = certs[i];
      if (!c) continue;
      const cfg = parseTunnelAgentConfig(
        {
          ...agentConfig,
          nodeName: `edge-${i}`,
          tls: { certFile: c.cert, keyFile: c.key, caFile: pki.pki.ca.cert },
        },
        'bench',
      );
      const a = new TunnelAgent(
        cfg,
        { cert: readFileSync(c.cert), key: readFileSync(c.key), ca: readFileSync(pki.pki.ca.cert) },
        quiet,
        'bench',
      );
      a.start();
      inProcessAgents.push(a);
    }
    let connected = 0;
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      connected = (await getJson<TunnelServerStatus>(`http://127.0.0.1:${adminPort}/v1/agents`)).agents
        .length;
      if (connected >= agentsWanted) break;
      await sleep(250);
    }
    const connectMs = performance.now() - ta;
    const settled = procStats(serverPid);
    await sleep(10_000);
    const after10s = procStats(serverPid);
    console.log(
      `${agentsWanted} agents: ${connected} connected in ${connectMs.toFixed(0)} ms, server RSS ${before.rssMB.toFixed(0)} -> ${after10s.rssMB.toFixed(0)} MB, ` +
        `server CPU to accept them ${(settled.cpuSec - before.cpuSec).toFixed(2)} s, idle (pings) ${(((after10s.cpuSec - settled.cpuSec) / 10) * 100).toFixed(1)}% of a core`,
    );
  } finally {
    await Promise.all(inProcessAgents.map((a) => a.stop()));
    for (const p of procs.reverse()) await p.stop().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}
