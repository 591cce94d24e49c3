/**
 * SSH to hosts behind NAT through the EdgeFleet tunnel: the tunnel server's operator access door
 * (mTLS) opens a TCP stream to the node's sshd through the tunnel agent running on that node, and
 * ssh2 runs over that stream (host keys are verified as for any other connection). A failure says
 * which part is missing: the door, the node's agent, or the operator's permission.
 */
import type { Duplex } from 'node:stream';
import { openTunnelStream, TunnelConnectError } from '../../src-agent/api/tunnel-client.ts';
import { AppError } from '../ipc/errors.ts';
import type { TunnelAccessProfile } from '../ipc/types.ts';
import type { Vault } from '../vault/vault.ts';

export interface TunnelRoute {
  profile: TunnelAccessProfile;
  /** The node name its tunnel agent registered as (the identity in the agent's certificate). */
  node: string;
  /** sshd port on the node. */
  port: number;
}

/** TLS-level failures (untrusted/expired certificates, the server closing the handshake). */
const TLS_FAILURE = /certificate|TLS|SSL|alert|handshake/i;

export function tunnelFailure(route: TunnelRoute, e: unknown): AppError {
  const door = `${route.profile.door.host}:${route.profile.door.port}`;
  const target = `${route.node}:${route.port}`;
  if (!(e instanceof TunnelConnectError))
    return new AppError(
      'tunnel/failed',
      `SSH to ${target} through the tunnel access door ${door} failed: ${e instanceof Error ? e.message : String(e)}`,
    );
  if (e.status === 503)
    return new AppError(
      'tunnel/no-agent',
      `No tunnel agent connected for ${route.node}: the tunnel server at ${door} answered 503 "${e.reason}"`,
      `Start the EdgeFleet tunnel agent on ${route.node} (systemctl start edgefleet-tunnel-agent) and check that it can reach the tunnel server (its log says why it cannot; the server's /v1/agents lists connected nodes).`,
    );
  if (e.status === 403)
    return new AppError(
      'tunnel/refused',
      `The tunnel server at ${door} refused SSH to ${target}: ${e.reason}`,
      "The operator certificate's CN or O must be allowed on the access door (access.auth.allowedCommonNames / allowedOrganizations), and the port must be allowed on the door and by the node's agent.",
    );
  if (e.status === 0 && TLS_FAILURE.test(e.reason))
    return new AppError(
      'tunnel/tls-refused',
      `TLS with the tunnel access door ${door} failed (for ${target}): ${e.reason}`,
      'Check that the CA in the tunnel access signed the server certificate, the server name, and that the operator certificate is signed by the CA the server trusts and has not expired.',
    );
  if (e.status === 0)
    return new AppError(
      'tunnel/door-unreachable',
      `Cannot reach the tunnel access door ${door} (for ${target}): ${e.reason}`,
      "Check the door address in the site's tunnel access and that the tunnel server runs with its access door listening.",
    );
  return new AppError(
    'tunnel/failed',
    `The tunnel server at ${door} could not open ${target} (${e.status}): ${e.reason}`,
  );
}

/** Opens a TCP stream to the node's sshd through the access door: hand it to ssh2 as `sock`. */
export async function openSshThroughTunnel(
  route: TunnelRoute,
  vault: Pick<Vault, 'get'>,
  timeoutMs = 15_000,
): Promise<Duplex> {
  const { profile } = route;
  const key = await vault.get(profile.keyRef);
  try {
    return await openTunnelStream(
      {
        host: profile.door.host,
        port: profile.door.port,
        tls: {
          cert: Buffer.from(profile.certPem),
          key: Buffer.from(key),
          ca: Buffer.from(profile.caPem),
          ...(profile.serverName ? { servername: profile.serverName } : {}),
        },
        timeoutMs,
      },
      `${route.node}:${route.port}`,
    );
  } catch (e) {
    throw tunnelFailure(route, e);
  }
}

/** `BatchOptions.sockFor`: hosts with a tunnel route get their SSH stream through the tunnel. */
export function tunnelSockFor(vault: Pick<Vault, 'get'>, timeoutMs?: number) {
  return (host: { tunnel?: TunnelRoute }): Promise<Duplex | undefined> =>
    host.tunnel ? openSshThroughTunnel(host.tunnel, vault, timeoutMs) : Promise.resolve(undefined);
}
