/**
 * CSR approver: approves kubelet-serving CSRs that nodes make for themselves (the hub's secure-proxy
 * certificate, kubelet's serving certificate) once they pass the rules in plan.ts, as OpenYurt's
 * yurt-manager does; kube-controller-manager then signs them.
 */
import { type KubeClient, RESOURCES, retryOnConflict } from '../../api/kube-client.ts';
import type { EventRecorder } from '../events.ts';
import type { Informer } from '../informer.ts';
import type { CertificateSigningRequest, CsrCondition, Node } from '../kube-types.ts';
import type { Metrics } from '../metrics.ts';
import { ControllerRunner, type Log } from '../runner.ts';
import { CsrParseError, type ParsedCsr, parseCsrPem } from './pkcs10.ts';
import {
  APPROVED_REASON,
  type CsrReview,
  DENIED_REASON,
  isDecided,
  KUBELET_SERVING_SIGNER,
  requesterNode,
  reviewServingCsr,
} from './plan.ts';

const CSR_API_VERSION = 'certificates.k8s.io/v1';

export function parseRequest(csr: CertificateSigningRequest): ParsedCsr | CsrParseError {
  try {
    return parseCsrPem(Buffer.from(csr.spec.request ?? '', 'base64').toString('utf8'));
  } catch (e) {
    return e instanceof CsrParseError ? e : new CsrParseError((e as Error).message);
  }
}

export class CsrApproverController {
  readonly runner: ControllerRunner;
  private readonly client: KubeClient;
  private readonly csrs: Informer<CertificateSigningRequest>;
  private readonly nodes: Informer<Node>;
  private readonly events: EventRecorder;
  private readonly metrics: Metrics;
  private readonly log: Log;
  /** node name → names of its undecided serving CSRs, so a Node change requeues just those. */
  private readonly byNode = new Map<string, Set<string>>();
  /** CSR name → the last refusal reported, so events and counters move only when the verdict does. */
  private readonly reported = new Map<string, string>();

  constructor(
    client: KubeClient,
    csrs: Informer<CertificateSigningRequest>,
    nodes: Informer<Node>,
    events: EventRecorder,
    metrics: Metrics,
    log: Log,
  ) {
    this.client = client;
    this.csrs = csrs;
    this.nodes = nodes;
    this.events = events;
    this.metrics = metrics;
    this.log = log;
    this.runner = new ControllerRunner('csrapprover', (k) => this.reconcile(k), metrics, log);
    csrs.on((type, csr) => {
      const name = csr.metadata.name;
      const node = requesterNode(csr);
      const open = type !== 'delete' && csr.spec.signerName === KUBELET_SERVING_SIGNER && !isDecided(csr);
      if (node) {
        let set = this.byNode.get(node);
        if (open) {
          if (!set) {
            set = new Set();
            this.byNode.set(node, set);
          }
          set.add(name);
        } else if (set) {
          set.delete(name);
          if (set.size === 0) this.byNode.delete(node);
        }
      }
      if (!open) this.reported.delete(name);
      if (open) this.runner.queue.add(name);
    });
    nodes.on((type, node, old) => {
      if (type === 'update' && old && sameAddresses(old, node)) return;
      for (const name of this.byNode.get(node.metadata.name) ?? []) this.runner.queue.add(name);
    });
  }

  private async reconcile(name: string) {
    const cached = this.csrs.get(name);
    if (!cached) return undefined;
    const review = this.review(cached);
    if (review.verdict === 'skip') return undefined;
    const target = { ...cached, apiVersion: CSR_API_VERSION, kind: 'CertificateSigningRequest' };
    if (review.verdict === 'pending') {
      this.reportRefusal(target, review.rule, 'pending', 'ServingCsrPending', review.message);
      return undefined;
    }
    const approve = review.verdict === 'approve';
    const condition: CsrCondition = {
      type: approve ? 'Approved' : 'Denied',
      status: 'True',
      reason: approve ? APPROVED_REASON : DENIED_REASON,
      message: review.message,
      lastUpdateTime: new Date().toISOString(),
    };
    // The cached copy may be stale: on a conflict re-read and review again, so a CSR someone else
    // decided meanwhile is left as they decided it.
    let csr: CertificateSigningRequest | undefined = cached;
    let first = true;
    let written = false;
    await retryOnConflict(async () => {
      if (!first)
        csr = await this.client.getOrUndefined<CertificateSigningRequest>(
          RESOURCES.certificatesigningrequests,
          name,
        );
      first = false;
      if (!csr || this.review(csr).verdict !== review.verdict) return;
      await this.client.update(
        RESOURCES.certificatesigningrequests,
        {
          ...csr,
          status: { ...csr.status, conditions: [...(csr.status?.conditions ?? []), condition] },
        },
        'approval',
      );
      written = true;
    });
    if (!written) return undefined;
    if (review.verdict === 'approve') {
      this.metrics.csrApproved.inc();
      this.events.record(target, 'Normal', 'ServingCsrApproved', review.message);
      this.log.info(`csrapprover: approved ${name}: ${review.message}`);
    } else {
      this.reportRefusal(target, review.rule, 'denied', 'ServingCsrDenied', review.message);
      this.log.info(`csrapprover: denied ${name}: ${review.message}`);
    }
    return undefined;
  }

  private review(csr: CertificateSigningRequest): CsrReview {
    const node = requesterNode(csr);
    return reviewServingCsr(csr, parseRequest(csr), node ? this.nodes.get(node) : undefined);
  }

  private reportRefusal(
    target: CertificateSigningRequest & { apiVersion: string; kind: string },
    rule: string,
    decision: 'pending' | 'denied',
    reason: string,
    message: string,
  ): void {
    const name = target.metadata.name;
    const key = `${decision}/${rule}/${message}`;
    if (this.reported.get(name) === key) return;
    this.reported.set(name, key);
    this.metrics.csrRefused.inc({ rule, decision });
    this.events.record(target, 'Warning', reason, `rule ${rule}: ${message}`);
  }
}

function sameAddresses(a: Node, b: Node): boolean {
  const text = (n: Node) => JSON.stringify(n.status?.addresses ?? []);
  return text(a) === text(b);
}
