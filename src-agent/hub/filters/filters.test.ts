import { describe, expect, it } from 'vitest';
import { parseRequestInfo } from '../request-info.ts';
import { applyFilters, FilterChain } from './chain.ts';
import { DiscardCloudServiceFilter } from './discard-cloud-service.ts';
import { MasterServiceFilter } from './master-service.ts';
import { NodePortIsolationFilter, nodePortListens } from './nodeport-isolation.ts';
import { PoolView } from './pool-view.ts';
import { ServiceTopologyFilter } from './service-topology.ts';
import { createTransform } from './transform.ts';
import type { KubeObj } from './types.ts';

function pools(): PoolView {
  const p = new PoolView('a1');
  p.setOwnLabel('pool-a');
  p.setPool('pool-a', ['a1', 'a2']);
  p.setPool('pool-b', ['b1']);
  return p;
}

const annotations: Record<string, Record<string, string>> = {
  'default/by-pool': { 'openyurt.io/topologyKeys': 'openyurt.io/nodepool' },
  'default/by-host': { 'openyurt.io/topologyKeys': 'kubernetes.io/hostname' },
  'default/plain': {},
};
const svcAnn = (ns: string, n: string) => annotations[`${ns}/${n}`];

function slice(svc: string, nodes: string[]): KubeObj {
  return {
    kind: 'EndpointSlice',
    apiVersion: 'discovery.k8s.io/v1',
    metadata: { name: `${svc}-x`, namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
    endpoints: nodes.map((n, i) => ({ addresses: [`10.0.0.${i}`], nodeName: n })),
  };
}
const nodesOf = (o: KubeObj | undefined) =>
  ((o?.endpoints as { nodeName: string }[] | undefined) ?? []).map((e) => e.nodeName);

describe('service topology filter', () => {
  const f = new ServiceTopologyFilter(pools(), svcAnn);
  it('keeps only endpoints in this node pool for openyurt.io/nodepool', () => {
    expect(nodesOf(f.filter(slice('by-pool', ['a1', 'b1', 'a2'])))).toEqual(['a1', 'a2']);
  });
  it('keeps only this node for kubernetes.io/hostname', () => {
    expect(nodesOf(f.filter(slice('by-host', ['a1', 'b1', 'a2'])))).toEqual(['a1']);
  });
  it('leaves Services without the annotation, and slices that would become empty, alone', () => {
    expect(nodesOf(f.filter(slice('plain', ['a1', 'b1'])))).toEqual(['a1', 'b1']);
    expect(nodesOf(f.filter(slice('by-pool', ['b1'])))).toEqual(['b1']);
  });
  it('filters Endpoints subsets too', () => {
    const ep: KubeObj = {
      kind: 'Endpoints',
      metadata: { name: 'by-pool', namespace: 'default' },
      subsets: [
        {
          addresses: [
            { ip: '1', nodeName: 'a2' },
            { ip: '2', nodeName: 'b1' },
          ],
          ports: [],
        },
      ],
    };
    const out = f.filter(ep) as { subsets: { addresses: { ip: string }[] }[] };
    expect(out.subsets[0]?.addresses.map((a) => a.ip)).toEqual(['1']);
  });
  it('uses the pool that lists the node when the node has no label', () => {
    const p = new PoolView('b1');
    p.setPool('pool-a', ['a1']);
    p.setPool('pool-b', ['b1', 'b2']);
    const g = new ServiceTopologyFilter(p, svcAnn);
    expect(nodesOf(g.filter(slice('by-pool', ['a1', 'b1', 'b2'])))).toEqual(['b1', 'b2']);
  });
});

describe('master service, discard cloud service, nodeport isolation', () => {
  it('points default/kubernetes at the hub secure proxy', () => {
    const f = new MasterServiceFilter(() => ({ host: '169.254.2.1', port: 10268 }));
    const out = f.filter({
      kind: 'Service',
      metadata: { name: 'kubernetes', namespace: 'default' },
      spec: { clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1'], ports: [{ name: 'https', port: 443 }] },
    }) as { spec: { clusterIP: string; ports: { port: number }[] } };
    expect(out.spec.clusterIP).toBe('169.254.2.1');
    expect(out.spec.ports[0]?.port).toBe(10268);
    const other = {
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default' },
      spec: { clusterIP: 'x' },
    };
    expect(f.filter(other)).toBe(other);
  });
  it('hides services marked svc.openyurt.io/discard', () => {
    const f = new DiscardCloudServiceFilter();
    expect(f.filter({ metadata: { name: 's', annotations: { 'svc.openyurt.io/discard': 'true' } } })).toBe(
      undefined,
    );
    expect(f.filter({ metadata: { name: 's' } })).toBeDefined();
  });
  it('reads nodeport.openyurt.io/listen like OpenYurt', () => {
    expect(nodePortListens('pool-a', 'pool-a')).toBe(true);
    expect(nodePortListens('pool-b', 'pool-a')).toBe(false);
    expect(nodePortListens('*,-pool-a', 'pool-a')).toBe(false);
    expect(nodePortListens('*', undefined)).toBe(true);
    const f = new NodePortIsolationFilter(pools());
    const svc = (listen: string, type = 'NodePort') => ({
      metadata: { name: 's', annotations: { 'nodeport.openyurt.io/listen': listen } },
      spec: { type },
    });
    expect(f.filter(svc('pool-b'))).toBeUndefined();
    expect(f.filter(svc('pool-a'))).toBeDefined();
    expect(f.filter(svc('pool-b', 'ClusterIP'))).toBeDefined();
  });
});

describe('filter chain and response transform', () => {
  const p = pools();
  const chain = new FilterChain({
    pools: p,
    services: svcAnn,
    masterService: () => ({ host: '169.254.2.1', port: 10268 }),
    components: () => ({ servicetopology: ['kube-proxy'], discardcloudservice: ['kube-proxy'] }),
  });
  const sliceList = parseRequestInfo('GET', '/apis/discovery.k8s.io/v1/endpointslices');
  it('applies only to configured components and handled resources', () => {
    expect(chain.forRequest('kube-proxy', sliceList).map((f) => f.name)).toEqual(['servicetopology']);
    expect(chain.forRequest('kubelet', sliceList)).toEqual([]);
    expect(chain.forRequest('kube-proxy', parseRequestInfo('GET', '/api/v1/pods'))).toEqual([]);
  });
  it('filters a LIST body and answers 404 for a hidden GET', () => {
    const filters = chain.forRequest('kube-proxy', sliceList);
    const sent: Buffer[] = [];
    const t = createTransform(
      filters,
      sliceList,
      (c) => sent.push(c),
      () => () => undefined,
    );
    // A LIST streams item by item: fed in small pieces, it comes out filtered and still one document.
    const body = Buffer.from(
      JSON.stringify({
        kind: 'EndpointSliceList',
        metadata: { resourceVersion: '7' },
        items: [slice('by-pool', ['a1', 'b1']), slice('no-topology', ['b1', 'a1'])],
      }),
    );
    expect(t.buffered).toBe(false);
    for (let i = 0; i < body.length; i += 13) t.write(body.subarray(i, i + 13));
    t.end();
    const out = JSON.parse(Buffer.concat(sent).toString()) as {
      items: KubeObj[];
      metadata: { resourceVersion: string };
    };
    expect(out.metadata.resourceVersion).toBe('7');
    expect(out.items.map(nodesOf)).toEqual([['a1'], ['b1', 'a1']]);
    // An item no filter changed goes out byte for byte as the API server sent it.
    expect(Buffer.concat(sent).toString()).toContain(JSON.stringify(slice('no-topology', ['b1', 'a1'])));
    const get = parseRequestInfo('GET', '/api/v1/namespaces/default/services/s');
    const g = createTransform(
      chain.forRequest('kube-proxy', get),
      get,
      () => undefined,
      () => () => undefined,
    );
    g.write(
      Buffer.from(
        JSON.stringify({
          kind: 'Service',
          metadata: { name: 's', annotations: { 'svc.openyurt.io/discard': 'true' } },
        }),
      ),
    );
    expect(g.end().status).toBe(404);
  });
  it('re-filters watch events when pool membership changes', () => {
    const w = parseRequestInfo('GET', '/apis/discovery.k8s.io/v1/endpointslices?watch=true');
    const sent: { type: string; object: KubeObj }[] = [];
    const t = createTransform(
      chain.forRequest('kube-proxy', w),
      w,
      (c) => {
        for (const line of c.toString().split('\n').filter(Boolean)) sent.push(JSON.parse(line));
      },
      (fn) => chain.onRefilter(fn),
    );
    const ev = JSON.stringify({ type: 'ADDED', object: slice('by-pool', ['a1', 'b1', 'c1']) });
    // Split mid-line: the decoder must join chunks.
    t.write(Buffer.from(ev.slice(0, 20)));
    t.write(Buffer.from(`${ev.slice(20)}\n`));
    expect(nodesOf(sent[0]?.object)).toEqual(['a1']);
    p.setPool('pool-a', ['a1', 'c1']);
    expect(sent[1]?.type).toBe('MODIFIED');
    expect(nodesOf(sent[1]?.object)).toEqual(['a1', 'c1']);
    t.close();
    p.setPool('pool-a', ['a1']);
    expect(sent.length).toBe(2);
  });
  it('turns a MODIFIED that becomes hidden into DELETED', () => {
    const w = parseRequestInfo('GET', '/api/v1/services?watch=true');
    const sent: string[] = [];
    const t = createTransform(
      chain.forRequest('kube-proxy', w),
      w,
      (c) => sent.push(JSON.parse(c.toString()).type),
      () => () => undefined,
    );
    t.write(Buffer.from(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 's' } } })}\n`));
    t.write(
      Buffer.from(
        `${JSON.stringify({ type: 'MODIFIED', object: { metadata: { name: 's', annotations: { 'svc.openyurt.io/discard': 'true' } } } })}\n`,
      ),
    );
    expect(sent).toEqual(['ADDED', 'DELETED']);
    expect(applyFilters([], { metadata: {} })).toBeDefined();
  });
});
