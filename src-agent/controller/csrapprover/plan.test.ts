import { describe, expect, test } from 'vitest';
import { HUB_DEFAULTS } from '../../api/hub-config.ts';
import { type AltNames, createCsr, newNodeKey } from '../../hub/csr.ts';
import type { CertificateSigningRequest, Node } from '../kube-types.ts';
import { CsrParseError, type ParsedCsr, parseCsrPem } from './pkcs10.ts';
import { KUBELET_SERVING_SIGNER, reviewServingCsr } from './plan.ts';

const NODE = 'edge-1';
const node: Node = {
  metadata: { name: NODE },
  status: {
    addresses: [
      { type: 'InternalIP', address: '198.18.0.7' },
      { type: 'ExternalIP', address: 'FD00:0:0:0:0:0:0:7' },
      { type: 'Hostname', address: 'edge-1.site' },
      { type: 'InternalDNS', address: 'edge-1.internal' },
    ],
  },
};

/** The request exactly as the hub's ensureServingCert makes it, with overrides. */
function csr(
  o: {
    cn?: string;
    orgs?: string[];
    alt?: AltNames;
    signer?: string;
    usages?: string[];
    username?: string;
    groups?: string[];
    conditions?: { type: string; status: string }[];
  } = {},
): { csr: CertificateSigningRequest; parsed: ParsedCsr } {
  const pem = createCsr(
    newNodeKey().privateKey,
    o.cn ?? `system:node:${NODE}`,
    o.orgs ?? ['system:nodes'],
    o.alt ?? { dns: [NODE], ips: ['127.0.0.1', HUB_DEFAULTS.masterService.host] },
  );
  return {
    csr: {
      metadata: { name: 'csr-1' },
      spec: {
        request: Buffer.from(pem).toString('base64'),
        signerName: o.signer ?? KUBELET_SERVING_SIGNER,
        usages: o.usages ?? ['digital signature', 'server auth'],
        username: o.username ?? `system:node:${NODE}`,
        groups: o.groups ?? ['system:nodes', 'system:authenticated'],
      },
      ...(o.conditions ? { status: { conditions: o.conditions } } : {}),
    },
    parsed: parseCsrPem(pem),
  };
}
/** `null` stands for "no Node object" (undefined would pick the default). */
const review = (o: Parameters<typeof csr>[0] = {}, n: Node | null = node) => {
  const c = csr(o);
  return reviewServingCsr(c.csr, c.parsed, n ?? undefined);
};

describe('reviewServingCsr', () => {
  test("approves the hub's own request (node name, 127.0.0.1, the master-service host)", () => {
    const r = review();
    expect(r.verdict).toBe('approve');
    if (r.verdict === 'approve') expect(r.message).toContain(NODE);
  });

  test("approves the Node's own addresses, DNS names and ::1 (IPv6 compared in any spelling)", () => {
    expect(
      review({
        usages: ['digital signature', 'key encipherment', 'server auth'],
        alt: { dns: ['edge-1.site', 'edge-1.internal'], ips: ['198.18.0.7'] },
      }).verdict,
    ).toBe('approve');
    // createCsr writes IPv4 only; an IPv6 SAN is checked through a parsed request edited in place.
    const c = csr();
    const parsed = { ...c.parsed, ipAddresses: ['fd00::7', '::1'] };
    expect(reviewServingCsr(c.csr, parsed, node).verdict).toBe('approve');
  });

  test('leaves other signers alone and skips decided CSRs, without a verdict to report', () => {
    expect(review({ signer: 'kubernetes.io/kube-apiserver-client' })).toEqual({
      verdict: 'skip',
      why: 'other-signer',
    });
    for (const type of ['Approved', 'Denied', 'Failed'])
      expect(review({ conditions: [{ type, status: 'True' }] })).toEqual({ verdict: 'skip', why: 'decided' });
  });

  const pendingCases: [string, Parameters<typeof csr>[0], Node | null, string, RegExp][] = [
    [
      'not a node user',
      { username: 'alice' },
      node,
      'requester',
      /not a node.*kubectl certificate approve csr-1/,
    ],
    [
      'node user without the nodes group',
      { groups: ['system:authenticated'] },
      node,
      'requester',
      /not a node/,
    ],
    [
      'CN not a node name',
      { cn: 'edge-1' },
      node,
      'subject-cn',
      /CN is "edge-1", must be exactly "system:node:edge-1"/,
    ],
    ['extra O', { orgs: ['system:nodes', 'admins'] }, node, 'subject-o', /O is \[system:nodes, admins\]/],
    ['no O', { orgs: [] }, node, 'subject-o', /must be exactly \[system:nodes\]/],
    [
      'client auth usage',
      { usages: ['digital signature', 'server auth', 'client auth'] },
      node,
      'usages',
      /not allowed: client auth/,
    ],
    ['no server auth', { usages: ['digital signature'] }, node, 'usages', /must include "server auth"/],
    ['no SANs', { alt: {} }, node, 'san-empty', /no DNS name or IP address/],
    ['Node missing', {}, null, 'node-missing', /Node edge-1 does not exist/],
    ['DNS of another host', { alt: { dns: [NODE, 'api.example.org'] } }, node, 'dns-san', /api.example.org/],
    [
      'IP not the node’s',
      { alt: { dns: [NODE], ips: ['127.0.0.1', '198.18.9.9'] } },
      node,
      'ip-san',
      /198.18.9.9 .*198.18.0.7/,
    ],
  ];
  test.each(pendingCases)('leaves Pending with the rule and a fix: %s', (_what, o, n, rule, msg) => {
    const r = review(o, n);
    expect(r).toMatchObject({ verdict: 'pending', rule });
    if (r.verdict === 'pending') expect(r.message).toMatch(msg);
  });

  test('leaves Pending when SANs other than DNS/IP are asked for', () => {
    const c = csr();
    const r = reviewServingCsr(c.csr, { ...c.parsed, otherNameTypes: ['uri'] }, node);
    expect(r).toMatchObject({ verdict: 'pending', rule: 'san-type' });
  });

  test('leaves Pending an unreadable request', () => {
    const c = csr();
    const r = reviewServingCsr(c.csr, new CsrParseError('truncated at byte 3'), node);
    expect(r).toMatchObject({ verdict: 'pending', rule: 'request-unreadable' });
  });

  test("denies a node asking for another node's identity, and a request with a broken signature", () => {
    const other = review({ cn: 'system:node:edge-2' });
    expect(other).toMatchObject({ verdict: 'deny', rule: 'cn-other-node' });
    if (other.verdict === 'deny') expect(other.message).toMatch(/another node.*system:node:edge-1/);
    const c = csr();
    const broken = {
      ...c.parsed,
      signatureValid: false,
      signatureProblem: 'the self-signature does not match',
    };
    expect(reviewServingCsr(c.csr, broken, node)).toMatchObject({ verdict: 'deny', rule: 'signature' });
  });

  test('an IP the Node gets later turns a pending request into an approval (same CSR, new Node)', () => {
    const c = csr({ alt: { dns: [NODE], ips: ['198.18.0.50'] } });
    expect(reviewServingCsr(c.csr, c.parsed, node).verdict).toBe('pending');
    const moved: Node = {
      ...node,
      status: {
        addresses: [...(node.status?.addresses ?? []), { type: 'InternalIP', address: '198.18.0.50' }],
      },
    };
    expect(reviewServingCsr(c.csr, c.parsed, moved).verdict).toBe('approve');
  });
});
