import { describe, expect, test } from 'vitest';
import { admissionResponse } from './webhook.ts';

describe('admission responses', () => {
  test('a patch travels base64-encoded as a JSONPatch; no patch allows the object unchanged', () => {
    const ops = [{ op: 'replace' as const, path: '/endpoints/0/conditions', value: { ready: true } }];
    const withPatch = admissionResponse('uid-1', ops);
    expect(withPatch).toMatchObject({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'uid-1', allowed: true, patchType: 'JSONPatch' },
    });
    expect(JSON.parse(Buffer.from(withPatch.response?.patch ?? '', 'base64').toString('utf8'))).toEqual(ops);
    const unchanged = admissionResponse('uid-2', []);
    expect(unchanged.response).toEqual({ uid: 'uid-2', allowed: true });
  });
});
