/**
 * The controller's wiring with a fake API (the rules themselves are in plan.test.ts, the real API
 * server in test/lab/controller-csr.test.ts): what it writes, when it re-checks, what it reports.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { KubeApiError, type KubeClient, type KubeObject, type ResourceRef } from '../../api/kube-client.ts';
import { createCsr, newNodeKey } from '../../hub/csr.ts';
import { EventRecorder } from '../events.ts';
import { Informer } from '../informer.ts';
import type { CertificateSigningRequest, Node } from '../kube-types.ts';
import { Metrics } from '../metrics.ts';
import type { Log } from '../runner.ts';
import { CsrApproverController } from './controller.ts';

type Emit = (ev: { type: string; object: KubeObject }) => void;

/**
 * Just the KubeClient calls the controller, its informers and the event recorder make. A call the
 * controller should not make is recorded in `failures` (and throws, as the API server would refuse
 * it); the controller catches and retries such errors, so afterEach asserts the record is empty.
 */
class FakeApi {
  readonly failures: string[] = [];
  readonly objects = new Map<string, Map<string, KubeObject>>([
    ['certificatesigningrequests', new Map()],
    ['nodes', new Map()],
  ]);
  readonly watchers = new Map<string, Emit>();
  readonly approvals: { name: string; conditions: { type: string; reason?: string }[] }[] = [];
  readonly events: { reason: string; message: string; type: string }[] = [];
  conflicts = 0;
  /** What a re-read after a conflict returns (someone else's decision), if set. */
  reread?: CertificateSigningRequest;

  async list(res: ResourceRef) {
    return { items: [...(this.objects.get(res.plural)?.values() ?? [])], resourceVersion: '1' };
  }
  async watch(res: ResourceRef, opts: { signal?: AbortSignal }, onEvent: Emit) {
    this.watchers.set(res.plural, onEvent);
    await new Promise((r) => opts.signal?.addEventListener('abort', r, { once: true }));
  }
  /** An object appears or changes, as a watch event. */
  put(plural: string, obj: KubeObject) {
    const had = this.objects.get(plural)?.has(obj.metadata.name);
    this.objects.get(plural)?.set(obj.metadata.name, obj);
    this.watchers.get(plural)?.({ type: had ? 'MODIFIED' : 'ADDED', object: obj });
  }
  private fail(what: string): never {
    this.failures.push(what);
    throw new KubeApiError('PUT', what, 422, 'Invalid', what);
  }
  async update(_res: ResourceRef, obj: CertificateSigningRequest, sub?: string) {
    if (sub !== 'approval') this.fail(`update of ${obj.metadata.name} with subresource ${sub}, not approval`);
    if (this.conflicts > 0) {
      this.conflicts--;
      throw new KubeApiError('PUT', obj.metadata.name, 409, 'Conflict', 'the object has been modified');
    }
    this.approvals.push({ name: obj.metadata.name, conditions: obj.status?.conditions ?? [] });
    return obj;
  }
  async getOrUndefined(_res: ResourceRef, name: string) {
    return this.reread ?? this.objects.get('certificatesigningrequests')?.get(name);
  }
  async create(_res: ResourceRef, obj: KubeObject & { reason: string; message: string; type: string }) {
    this.events.push({ reason: obj.reason, message: obj.message, type: obj.type });
    return obj;
  }
  async patch() {
    return {} as KubeObject;
  }
}

/** Errors the controller logged (a failed reconcile is logged, then retried). */
const logged: string[] = [];
const log: Log = { info: () => undefined, error: (m) => logged.push(m) };
let stop: (() => Promise<void>) | undefined;
let current: FakeApi | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
  const failures = current?.failures ?? [];
  current = undefined;
  expect(failures).toEqual([]);
  expect(logged.splice(0)).toEqual([]);
});

async function start(api: FakeApi) {
  current = api;
  const client = api as unknown as KubeClient;
  const ac = new AbortController();
  const csrs = new Informer<CertificateSigningRequest>(client, {
    group: 'certificates.k8s.io',
    version: 'v1',
    plural: 'certificatesigningrequests',
    kind: 'CertificateSigningRequest',
    namespaced: false,
  });
  const nodes = new Informer<Node>(client, {
    group: '',
    version: 'v1',
    plural: 'nodes',
    kind: 'Node',
    namespaced: false,
  });
  const metrics = new Metrics();
  const events = new EventRecorder(client, 'test', (e) => {
    throw e;
  });
  const c = new CsrApproverController(client, csrs, nodes, events, metrics, log);
  const watching = [csrs.run(ac.signal), nodes.run(ac.signal)];
  await Promise.all([csrs.synced, nodes.synced]);
  const working = c.runner.run(1);
  stop = async () => {
    ac.abort();
    c.runner.queue.shutdown();
    await Promise.all([...watching, working]);
  };
  return { metrics, runner: c.runner };
}

/** Lets fire-and-forget event writes started by a finished reconcile land. */
const settle = () => new Promise((r) => setImmediate(r));

function servingCsr(
  name: string,
  node: string,
  signerName = 'kubernetes.io/kubelet-serving',
): CertificateSigningRequest {
  const pem = createCsr(newNodeKey().privateKey, `system:node:${node}`, ['system:nodes'], {
    dns: [node],
    ips: ['127.0.0.1'],
  });
  return {
    metadata: { name, resourceVersion: '1' },
    spec: {
      request: Buffer.from(pem).toString('base64'),
      signerName,
      usages: ['digital signature', 'server auth'],
      username: `system:node:${node}`,
      groups: ['system:nodes', 'system:authenticated'],
    },
  };
}
const nodeObj = (name: string): Node => ({ metadata: { name, resourceVersion: '1' } });

async function eventually(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('CsrApproverController', () => {
  test('a CSR waiting for its Node is reported once, then approved when the Node appears', async () => {
    const api = new FakeApi();
    api.objects.get('certificatesigningrequests')?.set('c1', servingCsr('c1', 'n1'));
    const { metrics, runner } = await start(api);
    await eventually('the pending event', () => api.events.length === 1);
    expect(api.events[0]).toMatchObject({ type: 'Warning', reason: 'ServingCsrPending' });
    expect(api.events[0]?.message).toMatch(/^rule node-missing: Node n1 does not exist/);
    // The same CSR seen again (a resync or an unrelated update) is not reported again.
    const seen = runner.reconciles('c1');
    api.put('certificatesigningrequests', {
      ...servingCsr('c1', 'n1'),
      metadata: { name: 'c1', resourceVersion: '2' },
    });
    await runner.reconciled('c1', seen);
    await settle();
    expect(api.events.length).toBe(1);
    expect(api.approvals).toEqual([]);

    api.put('nodes', nodeObj('n1'));
    await eventually('the approval', () => api.approvals.length === 1);
    expect(api.approvals[0]?.conditions).toEqual([
      expect.objectContaining({ type: 'Approved', status: 'True', reason: 'EdgeFleetServingApproved' }),
    ]);
    await eventually('the approved event', () => api.events.some((e) => e.reason === 'ServingCsrApproved'));
    const text = await metrics.render();
    expect(text).toMatch(/^edgefleet_controller_csrapprover_approved_total 1$/m);
    expect(text).toMatch(
      /^edgefleet_controller_csrapprover_refused_total\{rule="node-missing",decision="pending"\} 1$/m,
    );
  });

  test('a write conflict re-reads the CSR and approves it once', async () => {
    const api = new FakeApi();
    api.conflicts = 1;
    api.objects.get('nodes')?.set('n2', nodeObj('n2'));
    api.objects.get('certificatesigningrequests')?.set('c2', servingCsr('c2', 'n2'));
    const { runner } = await start(api);
    await runner.reconciled('c2', 0);
    expect(api.approvals.length).toBe(1);
    expect(runner.queue.length).toBe(0);
  });

  test('a CSR someone else decided meanwhile is left as they decided it', async () => {
    const api = new FakeApi();
    api.conflicts = 1;
    const csr = servingCsr('c3', 'n3');
    api.reread = { ...csr, status: { conditions: [{ type: 'Denied', status: 'True', reason: 'ByHand' }] } };
    api.objects.get('nodes')?.set('n3', nodeObj('n3'));
    api.objects.get('certificatesigningrequests')?.set('c3', csr);
    const { runner } = await start(api);
    await runner.reconciled('c3', 0);
    await settle();
    expect(api.approvals).toEqual([]);
    expect(api.events).toEqual([]);
  });

  test('other signers are never written to nor reported', async () => {
    const api = new FakeApi();
    api.objects.get('nodes')?.set('n4', nodeObj('n4'));
    api.objects
      .get('certificatesigningrequests')
      ?.set('c4', servingCsr('c4', 'n4', 'kubernetes.io/kube-apiserver-client'));
    api.objects.get('certificatesigningrequests')?.set('c5', servingCsr('c5', 'n4'));
    const { runner } = await start(api);
    // Both CSRs reached the handler in the same initial list; only the serving one was queued.
    await runner.reconciled('c5', 0);
    await settle();
    expect(runner.reconciles('c4')).toBe(0);
    expect(runner.queue.length).toBe(0);
    expect(api.approvals.map((a) => a.name)).toEqual(['c5']);
    expect(api.events.every((e) => e.reason === 'ServingCsrApproved')).toBe(true);
  });
});
