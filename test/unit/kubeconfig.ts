/**
 * A one-context KubeConfig for unit tests that talk to a fake API server (or to nothing).
 * client-node allows plain HTTP only with skipTLSVerify, so that is set for http:// servers.
 */
import { KubeConfig } from '@kubernetes/client-node';

export function testKubeConfig(server: string, user: { token?: string } = {}): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: server.startsWith('http:') }],
    users: [{ name: 'u', ...user }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}
