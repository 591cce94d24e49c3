import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { TUNNEL_DEFAULT_ALLOWED_PORTS } from '../api/tunnel-config.ts';

/**
 * What the agent agrees to dial for the server: only its own node, only allow-listed ports.
 * This check lives on the agent because the agent is the one inside the edge network; even a
 * compromised or misconfigured server cannot turn it into an open proxy into the site's LAN.
 */
export type TargetDecision = { ok: true; dialHost: string; port: number } | { ok: false; reason: string };

export interface TargetPolicyOptions {
  nodeName: string;
  allowedPorts: readonly number[];
  dialAddress: string;
  extraAddresses: readonly string[];
  /**
   * Ports whose service listens on the node's loopback only (the hub's and agent's admin/metrics):
   * allowed, and dialled at dialAddress whichever of the node's own addresses the server named —
   * kube-apiserver's node proxy names the node's InternalIP.
   */
  loopbackPorts?: readonly number[];
  /** Injected in tests; defaults to this machine's interface addresses. */
  localAddresses?: () => string[];
}

export function interfaceAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) out.push(a.address);
  }
  return out;
}

export class TargetPolicy {
  readonly ports: ReadonlySet<number>;
  private readonly loopbackPorts: ReadonlySet<number>;
  private readonly opts: TargetPolicyOptions;

  constructor(opts: TargetPolicyOptions) {
    this.opts = opts;
    this.loopbackPorts = new Set(opts.loopbackPorts ?? []);
    this.ports = new Set([...TUNNEL_DEFAULT_ALLOWED_PORTS, ...opts.allowedPorts, ...this.loopbackPorts]);
  }

  /** Addresses that mean "this node", excluding loopback (used for routing on the server). */
  routableAddresses(): string[] {
    const all = [...(this.opts.localAddresses ?? interfaceAddresses)(), ...this.opts.extraAddresses];
    return [...new Set(all.filter((a) => !isLoopback(a) && !a.startsWith('fe80:')))];
  }

  /** Decides on a CONNECT authority (`host:port`) the server asked for. */
  decide(authority: string | undefined): TargetDecision {
    const parsed = parseAuthority(authority);
    if (!parsed)
      return { ok: false, reason: `malformed target ${JSON.stringify(authority)}: want host:port` };
    const { host, port } = parsed;
    if (!this.ports.has(port)) {
      return {
        ok: false,
        reason: `port ${port} is not on node ${this.opts.nodeName}'s tunnel allow-list (${[...this.ports].join(', ')}); add it to allowedPorts in the agent config if it should be reachable`,
      };
    }
    if (host === this.opts.nodeName || host === 'localhost' || isLoopback(host)) {
      return { ok: true, dialHost: this.opts.dialAddress, port };
    }
    if (isIP(host) && this.routableAddresses().includes(host))
      return { ok: true, dialHost: this.loopbackPorts.has(port) ? this.opts.dialAddress : host, port };
    return {
      ok: false,
      reason: `${host} is not node ${this.opts.nodeName} (its addresses: ${this.routableAddresses().join(', ') || 'none'}); the tunnel only dials its own node`,
    };
  }
}

function isLoopback(a: string): boolean {
  return a === '::1' || /^127\./.test(a);
}

export function parseAuthority(authority: string | undefined): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(authority ?? '');
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host: (m[1] ?? m[2] ?? '').toLowerCase(), port };
}
