import type { ClientHttp2Session } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { TunnelAgentStatus, TunnelHello } from '../api/tunnel-config.ts';
import type { Logger } from './log.ts';

/** One registered agent connection and its counters. */
export interface AgentEntry {
  node: string;
  hello: TunnelHello;
  /** What routes to this agent by address (see NodeAddressSource); hello.addresses is only its claim. */
  addresses: string[];
  addressSource: 'agent' | 'node';
  session: ClientHttp2Session;
  socket: TLSSocket;
  remoteAddress: string;
  connectedSince: Date;
  streamsOpen: number;
  streamsTotal: number;
  streamsRefused: number;
  lastPingRttMs: number | null;
}

/** Disconnected nodes remembered for the connected gauge (a fleet's worth). */
const MAX_REMEMBERED_DISCONNECTED = 10_000;

/**
 * Connected agents by node name and by the addresses they reported. Newest connection of a
 * node wins: after a half-open link the server may still hold the dead one.
 */
export class AgentRegistry {
  private readonly byNode = new Map<string, AgentEntry>();
  private readonly byAddress = new Map<string, string>();
  private readonly log: Logger;
  /** Connections that ended, for the metrics counter. */
  disconnects = 0;
  /**
   * Nodes whose agent was connected and is not now, with when it left (ms), so "disconnected" is a
   * series (0) an alert can see and not a series that vanished. Bounded: the oldest are forgotten.
   */
  readonly disconnected = new Map<string, number>();

  constructor(log: Logger) {
    this.log = log;
  }

  /** Adds an agent; returns the entry it replaced, which the caller closes. */
  add(entry: AgentEntry): AgentEntry | undefined {
    const old = this.byNode.get(entry.node);
    if (old) this.dropAddresses(old);
    this.byNode.set(entry.node, entry);
    this.disconnected.delete(entry.node);
    for (const a of entry.addresses) {
      const holder = this.byAddress.get(a);
      if (holder && holder !== entry.node) {
        // Two nodes claiming one address: route it to neither rather than guess (and say so).
        this.log.warn('address claimed by two agents; not routing it', {
          address: a,
          nodes: `${holder},${entry.node}`,
        });
        this.byAddress.set(a, '');
        continue;
      }
      if (holder === '') continue;
      this.byAddress.set(a, entry.node);
    }
    return old;
  }

  remove(entry: AgentEntry): void {
    if (this.byNode.get(entry.node) !== entry) return;
    this.byNode.delete(entry.node);
    this.dropAddresses(entry);
    this.disconnects++;
    this.disconnected.set(entry.node, Date.now());
    if (this.disconnected.size > MAX_REMEMBERED_DISCONNECTED) {
      const oldest = this.disconnected.keys().next().value;
      if (oldest !== undefined) this.disconnected.delete(oldest);
    }
  }

  /** Looks an agent up by node name or by one of its node's addresses. */
  lookup(host: string): AgentEntry | undefined {
    const direct = this.byNode.get(host);
    if (direct) return direct;
    const node = this.byAddress.get(host);
    return node ? this.byNode.get(node) : undefined;
  }

  all(): AgentEntry[] {
    return [...this.byNode.values()];
  }

  status(entry: AgentEntry): TunnelAgentStatus {
    return {
      node: entry.node,
      remoteAddress: entry.remoteAddress,
      addresses: entry.addresses,
      addressSource: entry.addressSource,
      connectedSince: entry.connectedSince.toISOString(),
      streamsOpen: entry.streamsOpen,
      streamsTotal: entry.streamsTotal,
      streamsRefused: entry.streamsRefused,
      bytesFromAgent: entry.socket.bytesRead,
      bytesToAgent: entry.socket.bytesWritten,
      lastPingRttMs: entry.lastPingRttMs,
      agentVersion: entry.hello.version,
    };
  }

  private dropAddresses(entry: AgentEntry): void {
    for (const a of entry.addresses) if (this.byAddress.get(a) === entry.node) this.byAddress.delete(a);
  }
}
