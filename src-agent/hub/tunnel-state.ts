import { stat } from 'node:fs/promises';
import * as http from 'node:http';
import type { TunnelState } from '../api/node-report.ts';
import { TUNNEL_AGENT_METRICS } from '../tunnel/metrics.ts';

export interface TunnelProbeTarget {
  /** The tunnel agent's loopback admin endpoint (`admin.listen` in tunnel-agent.yaml), host:port. */
  admin: string;
  /** The tunnel agent's config file: its presence says the agent is installed on this node. */
  configFile: string;
}

const CONNECTED = TUNNEL_AGENT_METRICS.connected.name;

/**
 * Whether any `edgefleet_tunnel_agent_connected{server=…}` sample is 1 in a scrape of the agent's
 * /metrics: the agent keeps one connection per server replica, and one is enough to be reached.
 * Undefined when the metric is absent (not a tunnel agent answering there).
 */
export function connectedFromMetrics(text: string): boolean | undefined {
  let seen = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(CONNECTED)) continue;
    const rest = line.slice(CONNECTED.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    seen = true;
    const value = Number(rest.slice(rest.lastIndexOf(' ') + 1));
    if (value === 1) return true;
  }
  return seen ? false : undefined;
}

function get(address: string, path: string, timeoutMs: number): Promise<string> {
  const m = /^\[?([^\]]+)\]?:(\d+)$/.exec(address);
  if (!m) return Promise.reject(new Error(`tunnel agent admin "${address}" is not host:port`));
  return new Promise((resolve, reject) => {
    const req = http.get({ host: m[1], port: Number(m[2]), path, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () =>
        res.statusCode === 200 ? resolve(body) : reject(new Error(`answered ${res.statusCode}`)),
      );
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/**
 * The tunnel's state as this node sees it, read from the tunnel agent on loopback (the hub never
 * talks to the tunnel server): connected when the agent says a server registered it; disconnected
 * when it says none has, or the agent is installed (its config file exists) but does not answer;
 * not-installed when nothing answers and there is no config file.
 */
export async function probeTunnel(t: TunnelProbeTarget, timeoutMs = 1_000): Promise<TunnelState> {
  try {
    const connected = connectedFromMetrics(await get(t.admin, '/metrics', timeoutMs));
    if (connected !== undefined) return connected ? 'connected' : 'disconnected';
  } catch {
    // Not answering: installed and down (or its admin endpoint is off), or not installed at all.
  }
  const installed = await stat(t.configFile).then(
    () => true,
    () => false,
  );
  return installed ? 'disconnected' : 'not-installed';
}
