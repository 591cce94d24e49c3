import { sh, shOk } from './sh.ts';

/**
 * The lab network: one Linux bridge in the lab machine's namespace holding the "cloud"
 * address (gateway, where the API server listens), and one network namespace per lab host
 * joined to it by a veth pair. Addresses come from 198.18.0.0/15 only (RFC 2544 benchmark
 * space), one /24 per lab: 198.18.N.0/24. Names carry the lab id so several labs and stale
 * leftovers can be told apart and cleaned.
 */

export const LAB_NAME_PREFIX = 'ef';

export interface NetemSettings {
  delayMs?: number;
  jitterMs?: number;
  lossPercent?: number;
}

export type LinkState = 'up' | 'cut';

export interface HostLinkStatus {
  name: string;
  netns: string;
  address: string;
  state: LinkState;
  natOnly: boolean;
  netem: NetemSettings | null;
}

function assertLabId(id: string): void {
  if (!/^[a-z0-9]{4}$/.test(id)) throw new Error(`lab id must be 4 lowercase alphanumerics, got "${id}"`);
}

export class LabNetwork {
  readonly labId: string;
  readonly bridge: string;
  readonly subnetIndex: number;
  readonly links = new Map<string, HostLink>();

  private constructor(labId: string, subnetIndex: number) {
    this.labId = labId;
    this.bridge = `${LAB_NAME_PREFIX}br-${labId}`;
    this.subnetIndex = subnetIndex;
  }

  /** 198.18.N.1: the lab machine's ("cloud") address on this lab's bridge. */
  get gateway(): string {
    return `198.18.${this.subnetIndex}.1`;
  }

  get cidr(): string {
    return `198.18.${this.subnetIndex}.0/24`;
  }

  addressOf(hostIndex: number): string {
    if (hostIndex < 1 || hostIndex > 200) throw new Error(`host index ${hostIndex} out of range 1..200`);
    return `198.18.${this.subnetIndex}.${10 + hostIndex}`;
  }

  static async create(labId: string): Promise<LabNetwork> {
    assertLabId(labId);
    const used = await usedSubnetIndexes();
    let index = 0;
    for (let n = 1; n < 255; n++) {
      if (!used.has(n)) {
        index = n;
        break;
      }
    }
    if (index === 0)
      throw new Error('no free 198.18.N.0/24 subnet for a new lab: run `npm run lab -- down` for stale labs');
    const net = new LabNetwork(labId, index);
    await sh('ip', ['link', 'add', net.bridge, 'type', 'bridge']);
    await sh('ip', ['addr', 'add', `${net.gateway}/24`, 'dev', net.bridge]);
    await sh('ip', ['link', 'set', net.bridge, 'up']);
    return net;
  }

  /** Re-creates the object for a network made by another process (the CLI's `down`/`status`). */
  static attach(labId: string, subnetIndex: number): LabNetwork {
    assertLabId(labId);
    return new LabNetwork(labId, subnetIndex);
  }

  /**
   * The live link state of a host, read from its namespace's firewall chain, so a process
   * other than the one that set it (the CLI's `status`) reports the truth.
   */
  async linkStatus(
    name: string,
  ): Promise<{ link: 'up' | 'cut' | 'missing'; natOnly: boolean; lossPercent: number }> {
    const netns = `${LAB_NAME_PREFIX}${this.labId}-${name}`;
    let rules: string;
    try {
      rules = await sh('ip', ['netns', 'exec', netns, 'iptables', '-w', '-S', 'EF-LINK']);
    } catch (e) {
      if (/No such file|Cannot open network namespace/i.test((e as Error).message))
        return { link: 'missing', natOnly: false, lossPercent: 0 };
      // No chain yet: the link was never impaired.
      return { link: 'up', natOnly: false, lossPercent: 0 };
    }
    const cut = /^-A EF-LINK -j DROP$/m.test(rules);
    const loss = rules.match(/--probability ([\d.]+)/);
    return {
      link: cut ? 'cut' : 'up',
      natOnly: /--ctstate NEW -j DROP/.test(rules),
      lossPercent: loss ? Math.round(Number(loss[1]) * 100) : 0,
    };
  }

  async addHost(name: string, hostIndex: number): Promise<HostLink> {
    const link = await HostLink.create(this, name, hostIndex);
    this.links.set(name, link);
    return link;
  }

  /** Removes every namespace and link of this lab; safe to call twice and after partial creation. */
  async destroy(): Promise<void> {
    await destroyLabNetwork(this.labId);
    this.links.clear();
  }
}

export class HostLink {
  readonly name: string;
  readonly netns: string;
  readonly address: string;
  readonly gateway: string;
  /** The veth end in the lab machine's namespace (attached to the bridge). */
  readonly outerVeth: string;
  private cut = false;
  private netem: NetemSettings | null = null;
  private natOnly = false;

  private constructor(net: LabNetwork, name: string, hostIndex: number) {
    this.name = name;
    this.netns = `${LAB_NAME_PREFIX}${net.labId}-${name}`;
    this.address = net.addressOf(hostIndex);
    this.gateway = net.gateway;
    this.outerVeth = `${LAB_NAME_PREFIX}${net.labId}v${hostIndex}`;
  }

  static async create(net: LabNetwork, name: string, hostIndex: number): Promise<HostLink> {
    if (!/^[a-z0-9-]{1,20}$/.test(name))
      throw new Error(`host name "${name}" must be lowercase, digits and dashes`);
    const link = new HostLink(net, name, hostIndex);
    const inner = `${link.outerVeth}i`;
    await sh('ip', ['netns', 'add', link.netns]);
    await sh('ip', ['link', 'add', link.outerVeth, 'type', 'veth', 'peer', 'name', inner]);
    await sh('ip', ['link', 'set', inner, 'netns', link.netns]);
    await sh('ip', ['link', 'set', link.outerVeth, 'master', net.bridge, 'up']);
    const ns = ['netns', 'exec', link.netns];
    await sh('ip', [...ns, 'ip', 'link', 'set', inner, 'name', 'eth0']);
    await sh('ip', [...ns, 'ip', 'addr', 'add', `${link.address}/24`, 'dev', 'eth0']);
    await sh('ip', [...ns, 'ip', 'link', 'set', 'eth0', 'up']);
    await sh('ip', [...ns, 'ip', 'link', 'set', 'lo', 'up']);
    await sh('ip', [...ns, 'ip', 'route', 'add', 'default', 'via', net.gateway]);
    return link;
  }

  /** Runs a command inside this host's network namespace (not inside its container). */
  nsExec(file: string, args: readonly string[], timeoutMs?: number): Promise<string> {
    return sh('ip', ['netns', 'exec', this.netns, file, ...args], timeoutMs ? { timeoutMs } : {});
  }

  /**
   * Cuts the uplink the way a WAN outage does: packets vanish silently in both directions,
   * interfaces stay up, open TCP connections are not reset (they time out).
   */
  async cutLink(): Promise<void> {
    this.cut = true;
    await this.applyLinkFilter();
  }

  async restoreLink(): Promise<void> {
    this.cut = false;
    await this.applyLinkFilter();
  }

  /**
   * Impairs the link. This kernel has no sch_netem (so no tc netem), so loss is done with
   * iptables' `statistic` match on both directions; added latency cannot be emulated here and
   * is refused with that reason rather than silently ignored. `null` clears it.
   */
  async setNetem(settings: NetemSettings | null): Promise<void> {
    if (settings?.delayMs || settings?.jitterMs) {
      throw new Error(
        "link latency needs the kernel qdisc sch_netem, which this machine's kernel lacks (CONFIG_NET_SCH_NETEM is not set); only loss and cut are available",
      );
    }
    this.netem = settings;
    await this.applyLinkFilter();
  }

  /**
   * NAT-only: the host can open connections to the cloud, nothing can open a connection to
   * the host (replies to its own connections still pass) — what a node behind a NAT router
   * sees. Implemented with a conntrack filter in the host's namespace.
   */
  async setNatOnly(on: boolean): Promise<void> {
    this.natOnly = on;
    await this.applyLinkFilter();
  }

  status(): HostLinkStatus {
    return {
      name: this.name,
      netns: this.netns,
      address: this.address,
      state: this.cut ? 'cut' : 'up',
      natOnly: this.natOnly,
      netem: this.netem,
    };
  }

  /** Rebuilds this host's EF-LINK chain from the wanted state: cut, loss, NAT-only. */
  private async applyLinkFilter(): Promise<void> {
    const chain = 'EF-LINK';
    const ipt = (...a: string[]) => this.nsExec('iptables', ['-w', ...a]);
    const exists = await shOk('ip', ['netns', 'exec', this.netns, 'iptables', '-w', '-n', '-L', chain]);
    if (!exists) {
      await ipt('-N', chain);
      await ipt('-I', 'INPUT', '1', '-j', chain);
      await ipt('-I', 'OUTPUT', '1', '-j', chain);
    }
    await ipt('-F', chain);
    await ipt('-A', chain, '-i', 'lo', '-j', 'RETURN');
    await ipt('-A', chain, '-o', 'lo', '-j', 'RETURN');
    if (this.cut) {
      await ipt('-A', chain, '-j', 'DROP');
      return;
    }
    const loss = this.netem?.lossPercent ?? 0;
    if (loss > 0) {
      await ipt(
        '-A',
        chain,
        '-m',
        'statistic',
        '--mode',
        'random',
        '--probability',
        String(loss / 100),
        '-j',
        'DROP',
      );
    }
    if (this.natOnly) {
      await ipt('-A', chain, '-i', 'eth0', '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'DROP');
    }
  }
}

async function usedSubnetIndexes(): Promise<Set<number>> {
  const out = await sh('ip', ['-o', '-4', 'addr', 'show']);
  const used = new Set<number>();
  for (const m of out.matchAll(/inet 198\.18\.(\d+)\./g)) used.add(Number(m[1]));
  return used;
}

/** Names of this lab's namespaces and bridge, or of every EdgeFleet lab when labId is omitted. */
export async function listLabNetworkObjects(labId?: string): Promise<{ netns: string[]; links: string[] }> {
  const nsPattern = labId
    ? new RegExp(`^${LAB_NAME_PREFIX}${labId}-`)
    : new RegExp(`^${LAB_NAME_PREFIX}[a-z0-9]{4}-`);
  const linkPattern = labId
    ? new RegExp(`^(${LAB_NAME_PREFIX}br-${labId}|${LAB_NAME_PREFIX}${labId}v\\d+i?)$`)
    : new RegExp(`^(${LAB_NAME_PREFIX}br-[a-z0-9]{4}|${LAB_NAME_PREFIX}[a-z0-9]{4}v\\d+i?)$`);
  const nsOut = await sh('ip', ['netns', 'list']);
  const netns = nsOut
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => nsPattern.test(n));
  const linkOut = await sh('ip', ['-o', 'link', 'show']);
  const links = [...linkOut.matchAll(/^\d+: ([^:@]+)[@:]/gm)]
    .map((m) => m[1] ?? '')
    .filter((n) => linkPattern.test(n));
  return { netns, links };
}

/** Deletes namespaces first (that removes their veth ends), then the bridge and stray veths. */
export async function destroyLabNetwork(labId?: string): Promise<void> {
  const { netns, links } = await listLabNetworkObjects(labId);
  for (const ns of netns) {
    // Processes still inside keep a namespace alive only by reference; the name goes either way.
    await shOk('ip', ['netns', 'del', ns]);
  }
  for (const link of links) await shOk('ip', ['link', 'del', link]);
  const left = await listLabNetworkObjects(labId);
  if (left.netns.length || left.links.length) {
    throw new Error(`lab network cleanup left ${[...left.netns, ...left.links].join(', ')}`);
  }
}
