import { isIP } from 'node:net';
import { KubeClient, type KubeObject, kubeconfigConnection, RESOURCES } from '../api/kube-client.ts';
import { errorText } from './log.ts';

interface NodeObject extends KubeObject {
  status?: { addresses?: { type: string; address: string }[] };
}

/** Which addresses route to a node, and where that list came from. */
export interface RoutedAddresses {
  addresses: string[];
  source: 'agent' | 'node';
  /** Why the Node object could not be used (the agent is then reachable by name only). */
  problem?: string;
}

/**
 * The addresses a server routes `CONNECT <ip>:port` by. Without a kubeconfig: what the agent
 * reported (its interfaces; the agent still refuses anything not its own). With one: only the
 * InternalIP/ExternalIP of the agent's Node object, so an agent cannot attract streams meant for
 * another machine's address by claiming it. Needs `get` on nodes.
 */
export class NodeAddressSource {
  private readonly client: KubeClient;

  constructor(kubeconfig: string) {
    this.client = new KubeClient(kubeconfigConnection(kubeconfig), 'edgefleet-tunnel-server');
  }

  async routed(node: string): Promise<RoutedAddresses> {
    let obj: NodeObject | undefined;
    try {
      obj = await this.client.getOrUndefined<NodeObject>(RESOURCES.nodes, node);
    } catch (err) {
      return {
        addresses: [],
        source: 'node',
        problem: `cannot read Node ${node} from the API server (${errorText(err)}): routing by node name only; check nodeAddresses.kubeconfig and that it may get nodes`,
      };
    }
    if (!obj) {
      return {
        addresses: [],
        source: 'node',
        problem: `no Node object named ${node}: routing by node name only`,
      };
    }
    const addresses = (obj.status?.addresses ?? [])
      .filter((a) => (a.type === 'InternalIP' || a.type === 'ExternalIP') && isIP(a.address) !== 0)
      .map((a) => a.address);
    return { addresses: [...new Set(addresses)], source: 'node' };
  }

  close(): void {
    this.client.close();
  }
}
