import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import {
  parseTunnelAgentConfig,
  parseTunnelServerConfig,
  type TlsFiles,
  type TunnelServerStatus,
} from '../api/tunnel-config.ts';
import { configFlag } from '../config-flag.ts';
import { AdminEndpoint } from './admin.ts';
import { type TlsMaterial, TunnelAgent } from './agent.ts';
import { ConnectDoor } from './connect-door.ts';
import { createLogger, errorText } from './log.ts';
import { tunnelAgentRegistry, tunnelServerRegistry } from './metrics.ts';
import { TunnelServer } from './server.ts';

const DEFAULT_AGENT_CONFIG = '/etc/edgefleet/tunnel-agent.yaml';
const DEFAULT_SERVER_CONFIG = '/etc/edgefleet/tunnel-server.yaml';

async function readConfig(argv: string[], fallback: string): Promise<{ raw: unknown; path: string }> {
  const path = configFlag(argv, fallback);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read config ${path}: ${errorText(err)} (pass --config <file>)`);
  }
  try {
    return { raw: JSON.parse(text), path };
  } catch (err) {
    throw new Error(
      `config ${path} is not JSON (JSON is valid YAML; the agent has no YAML parser): ${errorText(err)}`,
    );
  }
}

async function loadTls(files: TlsFiles, what: string): Promise<TlsMaterial> {
  const read = async (p: string, field: string) => {
    try {
      return await readFile(p);
    } catch (err) {
      throw new Error(`${what}.${field} ${p}: ${errorText(err)}`);
    }
  };
  const [cert, key, ca] = await Promise.all([
    read(files.certFile, 'certFile'),
    read(files.keyFile, 'keyFile'),
    read(files.caFile, 'caFile'),
  ]);
  return { cert, key, ca };
}

function version(): string {
  return process.env.EDGEFLEET_VERSION ?? 'dev';
}

function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => resolve(sig));
  });
}

export async function runAgent(argv: string[]): Promise<void> {
  const { raw, path } = await readConfig(argv, DEFAULT_AGENT_CONFIG);
  const cfg = parseTunnelAgentConfig(raw, path);
  const log = createLogger('tunnel-agent');
  const agent = new TunnelAgent(cfg, await loadTls(cfg.tls, 'tls'), log, version());
  log.info('tunnel agent starting', {
    node: cfg.nodeName,
    servers: cfg.servers.join(','),
    allowedPorts: [...agent.policy.ports].join(','),
  });
  agent.start();
  const admin = cfg.admin ? new AdminEndpoint(tunnelAgentRegistry(agent)) : undefined;
  if (admin && cfg.admin) await admin.listen(cfg.admin.listen, log);
  const sig = await untilSignal();
  log.info('tunnel agent stopping', { signal: sig });
  await agent.stop();
  await admin?.close();
}

export async function runServer(argv: string[]): Promise<void> {
  const { raw, path } = await readConfig(argv, DEFAULT_SERVER_CONFIG);
  const cfg = parseTunnelServerConfig(raw, path, hostname());
  const log = createLogger('tunnel-server');
  const server = new TunnelServer(cfg, await loadTls(cfg.tls, 'tls'), log);
  const closers: (() => Promise<void>)[] = [];
  await server.listen();
  closers.push(() => server.close());
  if (cfg.egress) {
    const e = cfg.egress;
    const material = e.auth ? await loadTls(e.auth.tls, 'egress.auth.tls') : undefined;
    for (const address of [e.uds ? { uds: e.uds } : null, e.tcp ? { tcp: e.tcp } : null]) {
      if (!address) continue;
      // The unix socket is local-only by nature; mTLS applies to the TCP listener.
      const auth = 'tcp' in address && e.auth && material ? { config: e.auth, material } : undefined;
      const door = new ConnectDoor(
        server,
        { name: 'egress', allowedPorts: e.allowedPorts, ...(auth ? { auth } : {}) },
        log,
      );
      await door.listen(address);
      closers.push(() => door.close());
    }
  }
  if (cfg.access) {
    const a = cfg.access;
    const door = new ConnectDoor(
      server,
      {
        name: 'access',
        allowedPorts: a.allowedPorts,
        auth: { config: a.auth, material: await loadTls(a.auth.tls, 'access.auth.tls') },
      },
      log,
    );
    await door.listen({ tcp: a.listen });
    closers.push(() => door.close());
  }
  if (cfg.admin) {
    const admin = new AdminEndpoint(tunnelServerRegistry(server), {
      '/v1/agents': (): TunnelServerStatus => ({
        serverId: server.serverId,
        agents: server.registry.all().map((e) => server.registry.status(e)),
      }),
    });
    await admin.listen(cfg.admin.listen, log);
    closers.push(() => admin.close());
  }
  const sig = await untilSignal();
  log.info('tunnel server stopping', { signal: sig });
  for (const close of closers.reverse()) await close();
}
