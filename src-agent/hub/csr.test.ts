import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createCsr, newNodeKey } from './csr.ts';

describe('certificate request encoding', () => {
  it('openssl accepts the request, its signature, subject and SANs', () => {
    const k = newNodeKey();
    const pem = createCsr(k.privateKey, 'system:node:n1', ['system:nodes'], {
      ips: ['169.254.2.1'],
      dns: ['n1'],
    });
    const text = execFileSync('openssl', ['req', '-noout', '-text', '-verify'], {
      input: pem,
      stdio: 'pipe',
    }).toString();
    expect(text).toContain('O = system:nodes, CN = system:node:n1');
    expect(text).toContain('IP Address:169.254.2.1');
    expect(text).toContain('DNS:n1');
  });
});
