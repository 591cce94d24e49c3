import { PROCESS_METRICS, registerProcessMetrics } from '../metrics/process.ts';
import { type Catalog, metric, Registry } from '../metrics/registry.ts';
import type { TunnelAgent } from './agent.ts';
import type { TunnelServer } from './server.ts';

/** Every metric the tunnel server can expose (docs/metrics.md is generated from this). */
export const TUNNEL_SERVER_METRICS = {
  agentsConnected: metric({
    name: 'edgefleet_tunnel_server_agents_connected',
    type: 'gauge',
    help: 'Agents with a live tunnel to this server.',
    labels: [],
  }),
  agentConnected: metric({
    name: 'edgefleet_tunnel_server_agent_connected',
    type: 'gauge',
    help: "1 while the node's agent has a live tunnel to this server; 0 once it left (kept for nodes seen since the server started).",
    labels: ['node'],
  }),
  agentConnectTime: metric({
    name: 'edgefleet_tunnel_server_agent_connect_time_seconds',
    type: 'gauge',
    help: "Unix time the node's current agent connection was made.",
    labels: ['node'],
  }),
  agentStreamsOpen: metric({
    name: 'edgefleet_tunnel_server_agent_streams_open',
    type: 'gauge',
    help: 'Streams open on the agent connection.',
    labels: ['node'],
  }),
  agentStreams: metric({
    name: 'edgefleet_tunnel_server_agent_streams_total',
    type: 'counter',
    help: 'Streams opened on the current agent connection.',
    labels: ['node'],
  }),
  agentStreamsRefused: metric({
    name: 'edgefleet_tunnel_server_agent_streams_refused_total',
    type: 'counter',
    help: 'Streams on the current agent connection the agent refused or failed to dial.',
    labels: ['node'],
  }),
  agentReceived: metric({
    name: 'edgefleet_tunnel_server_agent_received_bytes_total',
    type: 'counter',
    help: 'Bytes received from the agent on the current connection (TLS).',
    labels: ['node'],
  }),
  agentSent: metric({
    name: 'edgefleet_tunnel_server_agent_sent_bytes_total',
    type: 'counter',
    help: 'Bytes sent to the agent on the current connection (TLS).',
    labels: ['node'],
  }),
  agentPingRtt: metric({
    name: 'edgefleet_tunnel_server_agent_ping_rtt_seconds',
    type: 'gauge',
    help: 'Last HTTP/2 PING round trip to the agent.',
    labels: ['node'],
  }),
  agentDisconnects: metric({
    name: 'edgefleet_tunnel_server_agent_disconnects_total',
    type: 'counter',
    help: 'Agent connections that ended.',
    labels: [],
  }),
  agentRejections: metric({
    name: 'edgefleet_tunnel_server_agent_rejections_total',
    type: 'counter',
    help: 'Agent connections refused, by reason.',
    labels: ['reason'],
  }),
  streamOpenFailures: metric({
    name: 'edgefleet_tunnel_server_stream_open_failures_total',
    type: 'counter',
    help: 'Front-door streams that could not be opened, by door and reason.',
    labels: ['door', 'reason'],
  }),
} as const satisfies Catalog;

/** Every metric the tunnel agent can expose, per configured server replica. */
export const TUNNEL_AGENT_METRICS = {
  connected: metric({
    name: 'edgefleet_tunnel_agent_connected',
    type: 'gauge',
    help: '1 while the tunnel to this server is up (the server registered the agent), else 0.',
    labels: ['server'],
  }),
  connections: metric({
    name: 'edgefleet_tunnel_agent_connections_total',
    type: 'counter',
    help: 'Tunnels the server registered; each after the first is a reconnect.',
    labels: ['server'],
  }),
  connectFailures: metric({
    name: 'edgefleet_tunnel_agent_connect_failures_total',
    type: 'counter',
    help: 'Connection attempts that ended before the server registered the agent (refused, TLS, timeout).',
    labels: ['server'],
  }),
  streamsOpen: metric({
    name: 'edgefleet_tunnel_agent_streams_open',
    type: 'gauge',
    help: 'Tunnelled streams open now.',
    labels: ['server'],
  }),
  streams: metric({
    name: 'edgefleet_tunnel_agent_streams_total',
    type: 'counter',
    help: 'Tunnelled streams the server asked for.',
    labels: ['server'],
  }),
  streamsRefused: metric({
    name: 'edgefleet_tunnel_agent_streams_refused_total',
    type: 'counter',
    help: 'Streams refused by the target policy (not this node, port not allowed).',
    labels: ['server'],
  }),
  dialFailures: metric({
    name: 'edgefleet_tunnel_agent_dial_failures_total',
    type: 'counter',
    help: 'Allowed streams whose TCP dial on the node failed.',
    labels: ['server'],
  }),
  received: metric({
    name: 'edgefleet_tunnel_agent_received_bytes_total',
    type: 'counter',
    help: 'Bytes received from the server (TLS), all connections.',
    labels: ['server'],
  }),
  sent: metric({
    name: 'edgefleet_tunnel_agent_sent_bytes_total',
    type: 'counter',
    help: 'Bytes sent to the server (TLS), all connections.',
    labels: ['server'],
  }),
} as const satisfies Catalog;

export function tunnelServerRegistry(server: TunnelServer): Registry {
  const r = new Registry(TUNNEL_SERVER_METRICS, PROCESS_METRICS);
  const m = TUNNEL_SERVER_METRICS;
  const agents = () => server.registry.all().map((e) => server.registry.status(e));
  const per = (f: (a: ReturnType<typeof agents>[number]) => number | null) =>
    agents().flatMap((a) => {
      const v = f(a);
      return v === null ? [] : [[{ node: a.node }, v] as const];
    });
  r.collect(m.agentsConnected, () => server.registry.all().length);
  r.collect(m.agentConnected, () => [
    ...server.registry.all().map((e) => [{ node: e.node }, 1] as const),
    ...[...server.registry.disconnected.keys()].map((node) => [{ node }, 0] as const),
  ]);
  r.collect(m.agentConnectTime, () => per((a) => Date.parse(a.connectedSince) / 1000));
  r.collect(m.agentStreamsOpen, () => per((a) => a.streamsOpen));
  r.collect(m.agentStreams, () => per((a) => a.streamsTotal));
  r.collect(m.agentStreamsRefused, () => per((a) => a.streamsRefused));
  r.collect(m.agentReceived, () => per((a) => a.bytesFromAgent));
  r.collect(m.agentSent, () => per((a) => a.bytesToAgent));
  r.collect(m.agentPingRtt, () => per((a) => (a.lastPingRttMs === null ? null : a.lastPingRttMs / 1000)));
  r.collect(m.agentDisconnects, () => server.registry.disconnects);
  r.collect(m.agentRejections, () =>
    [...server.counters.agentRejections].map(([reason, n]) => [{ reason }, n] as const),
  );
  r.collect(m.streamOpenFailures, () =>
    [...server.counters.streamOpenFailures].map(([key, n]) => {
      const [door = '', reason = ''] = key.split('/');
      return [{ door, reason }, n] as const;
    }),
  );
  registerProcessMetrics(r);
  return r;
}

export function tunnelAgentRegistry(agent: TunnelAgent): Registry {
  const r = new Registry(TUNNEL_AGENT_METRICS, PROCESS_METRICS);
  const m = TUNNEL_AGENT_METRICS;
  const each = (f: (s: ReturnType<TunnelAgent['linkStats']>[number]) => number) => () =>
    agent.linkStats().map((s) => [{ server: s.server }, f(s)] as const);
  type Link = ReturnType<TunnelAgent['linkStats']>[number];
  // One series per server link for each metric, read from the agent at scrape time.
  const perLink: [(typeof m)[keyof typeof m], (s: Link) => number][] = [
    [m.connected, (s) => (s.connected ? 1 : 0)],
    [m.connections, (s) => s.connections],
    [m.connectFailures, (s) => s.connectFailures],
    [m.streamsOpen, (s) => s.streamsOpen],
    [m.streams, (s) => s.streams],
    [m.streamsRefused, (s) => s.streamsRefused],
    [m.dialFailures, (s) => s.dialFailures],
    [m.received, (s) => s.bytesReceived],
    [m.sent, (s) => s.bytesSent],
  ];
  for (const [def, read] of perLink) r.collect(def, each(read));
  registerProcessMetrics(r);
  return r;
}
