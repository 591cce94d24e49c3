/**
 * Whether a kubelet-serving CSR may be approved: the hub's secure-proxy certificate (and kubelet's
 * own serving certificate) are asked for with signer kubernetes.io/kubelet-serving, which
 * kube-controller-manager signs but never approves. Pure: the CSR, its parsed request and the
 * requester's Node in, a verdict out.
 */
import { HUB_DEFAULTS } from '../../api/hub-config.ts';
import type { CertificateSigningRequest, Node } from '../kube-types.ts';
import { normalizeIp, type ParsedCsr } from './pkcs10.ts';

export const KUBELET_SERVING_SIGNER = 'kubernetes.io/kubelet-serving';
export const NODE_USER_PREFIX = 'system:node:';
export const NODES_GROUP = 'system:nodes';
export const APPROVED_REASON = 'EdgeFleetServingApproved';
export const DENIED_REASON = 'EdgeFleetServingDenied';

const ALLOWED_USAGES = new Set(['digital signature', 'key encipherment', 'server auth']);
const DNS_ADDRESS_TYPES = new Set(['Hostname', 'InternalDNS', 'ExternalDNS']);
const IP_ADDRESS_TYPES = new Set(['InternalIP', 'ExternalIP']);
/** Always allowed: loopback, and the address pods reach the hub's secure proxy at (master service). */
export const ALWAYS_ALLOWED_IPS: readonly string[] = ['127.0.0.1', '::1', HUB_DEFAULTS.masterService.host];

/** The rule a refused CSR broke; also the metric label. */
export type CsrRule =
  | 'requester'
  | 'request-unreadable'
  | 'signature'
  | 'cn-other-node'
  | 'subject-cn'
  | 'subject-o'
  | 'usages'
  | 'san-type'
  | 'san-empty'
  | 'node-missing'
  | 'dns-san'
  | 'ip-san';

export type CsrReview =
  /** Not ours to judge: another signer, or already Approved/Denied/Failed. */
  | { verdict: 'skip'; why: 'other-signer' | 'decided' }
  | { verdict: 'approve'; message: string }
  /**
   * Left Pending with a Warning event: the request may become approvable (its Node registers or
   * gets the address) or an operator may approve it by hand after a look.
   */
  | { verdict: 'pending'; rule: CsrRule; message: string }
  /**
   * Denied (terminal): only where no later cluster state could make the request acceptable and an
   * operator approving it by hand would be a mistake — a node asking for another node's identity
   * (impersonation: the certificate would let node A serve as node B), or a request whose
   * self-signature fails (no proof the requester holds the key; kcm's signer would fail it anyway).
   * A denial tells the requester at once instead of letting it poll until its timeout.
   */
  | { verdict: 'deny'; rule: CsrRule; message: string };

/** The node name a CSR's requester authenticated as, if it is a node. */
export function requesterNode(csr: CertificateSigningRequest): string | undefined {
  const u = csr.spec.username ?? '';
  return u.startsWith(NODE_USER_PREFIX) && u.length > NODE_USER_PREFIX.length
    ? u.slice(NODE_USER_PREFIX.length)
    : undefined;
}

export function isDecided(csr: CertificateSigningRequest): boolean {
  return (csr.status?.conditions ?? []).some(
    (c) => (c.type === 'Approved' || c.type === 'Denied' || c.type === 'Failed') && c.status !== 'False',
  );
}

const list = (xs: readonly string[]) => (xs.length ? xs.join(', ') : 'none');

export function reviewServingCsr(
  csr: CertificateSigningRequest,
  parsed: ParsedCsr | Error,
  node: Node | undefined,
): CsrReview {
  if (csr.spec.signerName !== KUBELET_SERVING_SIGNER) return { verdict: 'skip', why: 'other-signer' };
  if (isDecided(csr)) return { verdict: 'skip', why: 'decided' };
  const pending = (rule: CsrRule, message: string): CsrReview => ({ verdict: 'pending', rule, message });
  const deny = (rule: CsrRule, message: string): CsrReview => ({ verdict: 'deny', rule, message });

  const nodeName = requesterNode(csr);
  const groups = csr.spec.groups ?? [];
  if (!nodeName || !groups.includes(NODES_GROUP))
    return pending(
      'requester',
      `requester "${csr.spec.username ?? ''}" (groups ${list(groups)}) is not a node: automatic approval is only for ` +
        `users ${NODE_USER_PREFIX}<name> in group ${NODES_GROUP}; create the CSR with the node's client certificate, ` +
        `or approve by hand (kubectl certificate approve ${csr.metadata.name})`,
    );
  const username = `${NODE_USER_PREFIX}${nodeName}`;
  if (parsed instanceof Error)
    return pending('request-unreadable', `${parsed.message}; recreate the CSR with a valid PKCS#10 request`);
  if (!parsed.signatureValid)
    return deny(
      'signature',
      `${parsed.signatureProblem ?? 'signature not valid'}; sign the request with the key it carries and create a new CSR`,
    );

  const cn = parsed.commonNames;
  if (cn.length === 1 && cn[0] !== username && cn[0]?.startsWith(NODE_USER_PREFIX))
    return deny(
      'cn-other-node',
      `subject CN "${cn[0]}" names another node than the requester ${username}: a node may only ask for its own ` +
        `serving certificate; request CN=${username} with this node's credentials`,
    );
  if (cn.length !== 1 || cn[0] !== username)
    return pending(
      'subject-cn',
      `subject CN is ${cn.length ? cn.map((c) => `"${c}"`).join(', ') : 'missing'}, must be exactly "${username}"; ` +
        `create a new CSR with CN=${username}`,
    );
  const orgs = parsed.organizations;
  if (orgs.length !== 1 || orgs[0] !== NODES_GROUP)
    return pending(
      'subject-o',
      `subject O is [${orgs.join(', ')}], must be exactly [${NODES_GROUP}]; create a new CSR with O=${NODES_GROUP} only`,
    );
  const usages = csr.spec.usages ?? [];
  const extra = usages.filter((u) => !ALLOWED_USAGES.has(u));
  if (extra.length || !usages.includes('server auth'))
    return pending(
      'usages',
      `usages [${usages.join(', ')}] must include "server auth" and use only ${[...ALLOWED_USAGES].join(', ')}` +
        `${extra.length ? ` (not allowed: ${extra.join(', ')})` : ''}; create a new CSR with those usages`,
    );
  if (parsed.otherNameTypes.length)
    return pending(
      'san-type',
      `subjectAltName has ${list(parsed.otherNameTypes)} names; a serving certificate may only name DNS names and ` +
        `IP addresses: create a new CSR without them`,
    );
  if (!parsed.dnsNames.length && !parsed.ipAddresses.length)
    return pending(
      'san-empty',
      'subjectAltName names no DNS name or IP address, so the certificate could serve nothing; add the node name ' +
        'and its addresses',
    );
  if (!node)
    return pending(
      'node-missing',
      `Node ${nodeName} does not exist (yet); the CSR is approved once the node registers, else check the node name`,
    );

  const addresses = node.status?.addresses ?? [];
  const dnsOk = new Set([
    nodeName,
    ...addresses.filter((a) => DNS_ADDRESS_TYPES.has(a.type)).map((a) => a.address),
  ]);
  const badDns = parsed.dnsNames.filter((d) => !dnsOk.has(d));
  if (badDns.length)
    return pending(
      'dns-san',
      `DNS name(s) ${list(badDns)} are not the node name or one of Node ${nodeName}'s Hostname/InternalDNS/ExternalDNS ` +
        `addresses (${list([...dnsOk])}); request only those, or add the name to the node's status.addresses`,
    );
  const nodeIps = addresses.filter((a) => IP_ADDRESS_TYPES.has(a.type)).map((a) => normalizeIp(a.address));
  const ipOk = new Set([...nodeIps, ...ALWAYS_ALLOWED_IPS.map(normalizeIp)]);
  const badIps = parsed.ipAddresses.filter((ip) => !ipOk.has(normalizeIp(ip)));
  if (badIps.length)
    return pending(
      'ip-san',
      `IP address(es) ${list(badIps)} are not among Node ${nodeName}'s InternalIP/ExternalIP (${list(nodeIps)}) ` +
        `nor ${ALWAYS_ALLOWED_IPS.join(', ')}; request only those, or fix the node's status.addresses`,
    );
  return {
    verdict: 'approve',
    message: `serving certificate for node ${nodeName}: DNS ${list(parsed.dnsNames)}, IP ${list(parsed.ipAddresses)} checked against the Node`,
  };
}
