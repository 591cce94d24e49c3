import { describe, expect, test } from 'vitest';
import type { Node, Pod } from '../kube-types.ts';
import {
  type EndpointSlice,
  type Endpoints,
  type Lookups,
  planEndpointSlice,
  planEndpoints,
} from './endpoints.ts';

const node = (name: string, ready: string, annotations: Record<string, string> = {}): Node => ({
  metadata: { name, annotations },
  status: { conditions: [{ type: 'Ready', status: ready }] },
});
const pod = (name: string, nodeName: string, containersReady = 'True', deleting = false): Pod => ({
  metadata: { name, namespace: 'ns', ...(deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}) },
  spec: { nodeName },
  status: {
    phase: 'Running',
    conditions: [
      { type: 'Ready', status: 'False' },
      { type: 'ContainersReady', status: containersReady },
    ],
  },
});

function lookups(nodes: Node[], pods: Pod[]): Lookups & { podCalls: string[] } {
  const podCalls: string[] = [];
  return {
    podCalls,
    node: (n) => nodes.find((x) => x.metadata.name === n),
    pod: async (ns, n) => {
      podCalls.push(`${ns}/${n}`);
      return pods.find((p) => p.metadata.name === n && p.metadata.namespace === ns);
    },
  };
}

const ep = (podName: string, nodeName: string, ready: boolean, terminating = false) => ({
  addresses: ['198.19.64.2'],
  nodeName,
  targetRef: { kind: 'Pod', namespace: 'ns', name: podName },
  conditions: { ready, serving: ready, terminating },
});

describe('endpoints of autonomous, cut-off nodes', () => {
  const auto = node('auto', 'Unknown', { 'node.openyurt.io/autonomy-duration': '0' });
  const plain = node('plain', 'Unknown');
  const autoReporting = node('auto-reporting', 'False', { 'apps.openyurt.io/binding': 'true' });
  const autoHealthy = node('auto-healthy', 'True', { 'node.beta.openyurt.io/autonomy': 'true' });

  test('EndpointSlice: only the endpoint on the autonomous unreachable node becomes ready', async () => {
    const l = lookups(
      [auto, plain, autoReporting],
      [pod('a', 'auto'), pod('p', 'plain'), pod('r', 'auto-reporting')],
    );
    const slice: EndpointSlice = {
      metadata: { namespace: 'ns' },
      endpoints: [ep('a', 'auto', false), ep('p', 'plain', false), ep('r', 'auto-reporting', false)],
    };
    const ops = await planEndpointSlice(slice, l);
    expect(ops).toEqual([
      {
        op: 'replace',
        path: '/endpoints/0/conditions',
        value: { ready: true, serving: true, terminating: false },
      },
    ]);
    // Pods are fetched only for endpoints on autonomous cut-off nodes.
    expect(l.podCalls).toEqual(['ns/a']);
  });

  test('a really broken, deleted or terminating pod is not made ready', async () => {
    const l = lookups([auto], [pod('broken', 'auto', 'False'), pod('gone', 'auto', 'True', true)]);
    const slice: EndpointSlice = {
      metadata: { namespace: 'ns' },
      endpoints: [
        ep('broken', 'auto', false),
        ep('gone', 'auto', false),
        ep('missing', 'auto', false),
        ep('a', 'auto', false, true),
      ],
    };
    expect(await planEndpointSlice(slice, l)).toEqual([]);
  });

  test('ready endpoints and healthy nodes are left alone', async () => {
    const l = lookups([autoHealthy], [pod('h', 'auto-healthy')]);
    const slice: EndpointSlice = {
      metadata: { namespace: 'ns' },
      endpoints: [ep('h', 'auto-healthy', false), ep('x', 'auto-healthy', true)],
    };
    expect(await planEndpointSlice(slice, l)).toEqual([]);
    expect(l.podCalls).toEqual([]);
  });

  test('Endpoints: qualifying notReadyAddresses move to addresses, others stay', async () => {
    const l = lookups([auto, plain], [pod('a', 'auto'), pod('p', 'plain')]);
    const addr = (n: string, nodeName: string, ip: string) => ({
      ip,
      nodeName,
      targetRef: { kind: 'Pod', namespace: 'ns', name: n },
    });
    const e: Endpoints = {
      metadata: { namespace: 'ns' },
      subsets: [
        {
          addresses: [addr('x', 'other', '10.0.0.3')],
          notReadyAddresses: [addr('a', 'auto', '10.0.0.1'), addr('p', 'plain', '10.0.0.2')],
          ports: [{ port: 80 }],
        },
      ],
    };
    expect(await planEndpoints(e, l)).toEqual([
      {
        op: 'replace',
        path: '/subsets',
        value: [
          {
            addresses: [addr('x', 'other', '10.0.0.3'), addr('a', 'auto', '10.0.0.1')],
            notReadyAddresses: [addr('p', 'plain', '10.0.0.2')],
            ports: [{ port: 80 }],
          },
        ],
      },
    ]);
    const onlyPlain: Endpoints = {
      metadata: { namespace: 'ns' },
      subsets: [{ notReadyAddresses: [addr('p', 'plain', '10.0.0.2')] }],
    };
    expect(await planEndpoints(onlyPlain, l)).toEqual([]);
  });
});
