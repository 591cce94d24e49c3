import { describe, expect, it } from 'vitest';
import { AppError } from './errors.ts';
import { FLEET_REQUEST_SCHEMAS } from './fleet-contract.ts';
import { createIpcRouter, type IpcHandlers } from './router.ts';

function handlers(overrides: Partial<IpcHandlers> = {}): IpcHandlers {
  const vault = { backend: 'keychain' as const, detail: 'ok', entries: 0 };
  const never = () => {
    throw new Error('not in this test');
  };
  return {
    'vault:status': () => vault,
    'vault:useSessionMemory': () => vault,
    'clusters:listSources': () => [],
    'clusters:import': never,
    'clusters:removeSource': never,
    'clusters:watch': never,
    'clusters:unwatch': () => null,
    'clusters:snapshot': never,
    'vault:storeSecret': never,
    'hosts:list': () => [],
    'hosts:add': never,
    'hosts:remove': never,
    'tunnels:list': () => [],
    'tunnels:set': never,
    'tunnels:remove': never,
    'hosts:checkHostKey': never,
    'hosts:acceptHostKey': never,
    'provision:runs': () => [],
    'provision:preflight': never,
    'provision:convert': never,
    'provision:join': never,
    'provision:revert': never,
    'provision:upgrade': never,
    'provision:cancel': never,
    'demo:start': never,
    'demo:status': never,
    'demo:stop': never,
    'events:watchObject': never,
    'events:unwatchObject': never,
    'alerts:list': never,
    'alerts:getRules': never,
    'alerts:setRules': never,
    'app:reportError': () => null,
    ...(Object.fromEntries(Object.keys(FLEET_REQUEST_SCHEMAS).map((c) => [c, never])) as unknown as Pick<
      IpcHandlers,
      keyof typeof FLEET_REQUEST_SCHEMAS
    >),
    'streams:podLogs': never,
    'streams:exec': never,
    'streams:serviceLogs': never,
    'streams:write': never,
    'streams:resize': never,
    'streams:ack': never,
    'streams:close': never,
    ...overrides,
  };
}

describe('createIpcRouter', () => {
  it('passes validated input to the handler and wraps the answer', async () => {
    let seen: unknown;
    const router = createIpcRouter(
      handlers({
        'clusters:unwatch': (input) => {
          seen = input;
          return null;
        },
      }),
    );
    expect(await router.handle('clusters:unwatch', { clusterId: 'default/kind-a' })).toEqual({
      ok: true,
      value: null,
    });
    expect(seen).toEqual({ clusterId: 'default/kind-a' });
  });

  it('refuses unknown channels, wrong types, unknown fields and prototype tricks before any handler runs', async () => {
    let calls = 0;
    const router = createIpcRouter(
      handlers({
        'clusters:import': () => {
          calls++;
          throw new Error('should not run');
        },
      }),
    );
    const cases: [unknown, unknown][] = [
      ['shell:exec', {}],
      ['__proto__', {}],
      ['clusters:import', { path: 42 }],
      ['clusters:import', { path: '/tmp/x', extra: true }],
      ['clusters:import', { path: 'a\u0000b' }],
      ['clusters:import', 'just a string'],
      ['clusters:import', JSON.parse('{"path":"/x","__proto__":{"polluted":1}}')],
      ['clusters:removeSource', { sourceId: '../../etc' }],
      ['vault:status', { anything: 1 }],
    ];
    for (const [channel, input] of cases) {
      const r = await router.handle(channel, input);
      expect(r.ok, `${String(channel)} ${JSON.stringify(input)}`).toBe(false);
      if (!r.ok) expect(['ipc/unknown-channel', 'ipc/invalid-input']).toContain(r.error.code);
    }
    expect(calls).toBe(0);
  });

  it('turns AppError into an error value with its fix, and other throws into redacted internal errors', async () => {
    const router = createIpcRouter(
      handlers({
        'clusters:watch': () => {
          throw new AppError('vault/no-keychain', 'no keychain', 'install gnome-keyring');
        },
        'clusters:snapshot': () => {
          throw new Error('token s3cr3t-token-value leaked');
        },
      }),
      { redact: (t) => t.replaceAll('s3cr3t-token-value', '«redacted»') },
    );
    expect(await router.handle('clusters:watch', { clusterId: 'default/a' })).toEqual({
      ok: false,
      error: { code: 'vault/no-keychain', message: 'no keychain', fix: 'install gnome-keyring' },
    });
    const r = await router.handle('clusters:snapshot', { clusterId: 'default/a' });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('internal');
      expect(r.error.message).not.toContain('s3cr3t-token-value');
    }
  });
});

describe('Kubernetes names in requests', () => {
  // Found by the bad-input soak: the old pattern [a-z0-9.-] took "a.-x" and "a..b", which the API server refuses.
  it('refuses what the API server refuses as a DNS-1123 subdomain or label, and takes real names', async () => {
    const router = createIpcRouter(handlers({ 'fleet:nodes:cordon': () => ({ results: [] }) as never }));
    const cordon = (nodes: string[]) =>
      router.handle('fleet:nodes:cordon', { clusterId: 'default/kind', nodes });
    for (const bad of ['a.-x', 'a..b', 'a-.b', '.a', 'a.', 'A', 'a'.repeat(254)]) {
      const r = await cordon([bad]);
      expect(r.ok, bad).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('ipc/invalid-input');
    }
    expect((await cordon(['edge-1', 'edge-1.site-a', `${'a'.repeat(63)}.b`])).ok).toBe(true);
    const logs = await router.handle('streams:podLogs', {
      clusterId: 'default/kind',
      namespace: 'a.b',
      pod: 'web-0',
    });
    expect(logs.ok).toBe(false);
  });
});
