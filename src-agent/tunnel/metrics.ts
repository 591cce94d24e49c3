import type { TunnelServer } from './server.ts';

/** Prometheus text exposition (0.0.4) of the server's registry and counters. */
export function renderMetrics(server: TunnelServer): string {
  const out: string[] = [];
  const metric = (
    name: string,
    type: 'gauge' | 'counter',
    help: string,
    samples: [Record<string, string>, number][],
  ) => {
    out.push(`# HELP edgefleet_tunnel_${name} ${help}`, `# TYPE edgefleet_tunnel_${name} ${type}`);
    for (const [labels, value] of samples) {
      const l = Object.entries(labels)
        .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
        .join(',');
      out.push(`edgefleet_tunnel_${name}${l ? `{${l}}` : ''} ${value}`);
    }
  };
  const agents = server.registry.all().map((e) => server.registry.status(e));
  const per = (f: (a: (typeof agents)[number]) => number | null): [Record<string, string>, number][] =>
    agents.flatMap((a) => {
      const v = f(a);
      return v === null ? [] : [[{ node: a.node }, v] as [Record<string, string>, number]];
    });
  metric('agents_connected', 'gauge', 'Agents with a live tunnel to this server.', [[{}, agents.length]]);
  metric(
    'agent_connected_since_seconds',
    'gauge',
    'Unix time the agent connection was made.',
    per((a) => Date.parse(a.connectedSince) / 1000),
  );
  metric(
    'agent_streams_open',
    'gauge',
    'Streams open on the agent connection.',
    per((a) => a.streamsOpen),
  );
  metric(
    'agent_streams_total',
    'counter',
    'Streams opened on the agent connection.',
    per((a) => a.streamsTotal),
  );
  metric(
    'agent_streams_refused_total',
    'counter',
    'Streams the agent refused or failed to dial.',
    per((a) => a.streamsRefused),
  );
  metric(
    'agent_received_bytes_total',
    'counter',
    'Bytes received from the agent (TLS).',
    per((a) => a.bytesFromAgent),
  );
  metric(
    'agent_sent_bytes_total',
    'counter',
    'Bytes sent to the agent (TLS).',
    per((a) => a.bytesToAgent),
  );
  metric(
    'agent_ping_rtt_seconds',
    'gauge',
    'Last HTTP/2 PING round trip.',
    per((a) => (a.lastPingRttMs === null ? null : a.lastPingRttMs / 1000)),
  );
  metric('agent_disconnects_total', 'counter', 'Agent connections that ended.', [
    [{}, server.registry.disconnects],
  ]);
  metric(
    'agent_rejections_total',
    'counter',
    'Agent connections refused, by reason.',
    [...server.counters.agentRejections].map(([reason, n]) => [{ reason }, n]),
  );
  metric(
    'stream_open_failures_total',
    'counter',
    'Front-door streams that could not be opened, by door and reason.',
    [...server.counters.streamOpenFailures].map(([key, n]) => {
      const [door = '', reason = ''] = key.split('/');
      return [{ door, reason }, n];
    }),
  );
  return `${out.join('\n')}\n`;
}
