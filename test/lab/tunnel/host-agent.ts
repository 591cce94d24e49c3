/**
 * Puts the EdgeFleet tunnel agent on a lab host the way an installer image or a first visit by
 * an engineer would: the agent bundle and Node runtime in the product layout
 * (/opt/edgefleet/{bin/node, agent/}), its config and node certificate under /etc/edgefleet, and
 * `edgefleet-tunnel-agent.service` (from resources/systemd) enabled and started. The files are
 * written into the host's overlay from outside, as an image build would have put them there.
 *
 * The certificate lives under /etc/edgefleet/pki, not /var/lib/edgefleet: conversion refuses a
 * /var/lib/edgefleet it did not create (it could not revert it byte for byte).
 */
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readHostStates } from '../host.ts';
import type { Lab } from '../lab.ts';
import { REPO, writeJson } from './fixtures.ts';

export const TUNNEL_AGENT_UNIT = 'edgefleet-tunnel-agent';

export async function installHostTunnelAgent(
  lab: Lab,
  name: string,
  servers: string[],
  opts: { backoff?: { initialMs: number; maxMs: number } } = {},
): Promise<void> {
  const state = (await readHostStates(lab.dir)).find((s) => s.name === name);
  if (!state) throw new Error(`no state for lab host ${name}`);
  const root = (p: string) => join(state.merged, p);
  const resources = join(REPO, 'resources');
  await mkdir(root('opt/edgefleet/bin'), { recursive: true });
  await mkdir(root('opt/edgefleet/agent'), { recursive: true });
  await mkdir(root('etc/edgefleet/pki'), { recursive: true });
  await copyFile(
    join(resources, 'agent/edgefleet-agent.mjs'),
    root('opt/edgefleet/agent/edgefleet-agent.mjs'),
  );
  await copyFile(join(resources, 'node/linux-x64/node'), root('opt/edgefleet/bin/node'));
  await chmod(root('opt/edgefleet/bin/node'), 0o755);
  const pki = lab.cluster.pki;
  const cert = await pki.issueClientCert(`tunnel-${name}`, `system:node:${name}`, ['system:nodes']);
  await copyFile(cert.cert, root('etc/edgefleet/pki/tunnel-agent.crt'));
  await copyFile(cert.key, root('etc/edgefleet/pki/tunnel-agent.key'));
  await chmod(root('etc/edgefleet/pki/tunnel-agent.key'), 0o600);
  await copyFile(pki.ca.cert, root('etc/edgefleet/pki/tunnel-server-ca.crt'));
  await writeJson(root('etc/edgefleet/tunnel-agent.yaml'), {
    nodeName: name,
    servers,
    tls: {
      certFile: '/etc/edgefleet/pki/tunnel-agent.crt',
      keyFile: '/etc/edgefleet/pki/tunnel-agent.key',
      caFile: '/etc/edgefleet/pki/tunnel-server-ca.crt',
    },
    ...(opts.backoff ? { backoff: opts.backoff } : {}),
  });
  const version = (await readFile(join(resources, 'agent/VERSION'), 'utf8')).trim();
  const unit = (await readFile(join(resources, `systemd/${TUNNEL_AGENT_UNIT}.service`), 'utf8')).replaceAll(
    '@VERSION@',
    version,
  );
  await writeFile(root(`etc/systemd/system/${TUNNEL_AGENT_UNIT}.service`), unit, { mode: 0o644 });
  const r = await lab
    .host(name)
    .exec(`systemctl daemon-reload && systemctl enable --now ${TUNNEL_AGENT_UNIT}`);
  if (r.code !== 0) throw new Error(`${name}: starting ${TUNNEL_AGENT_UNIT} failed: ${r.stderr}`);
}
