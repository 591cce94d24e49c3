import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bundleFor } from './artifacts.ts';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ef-artifacts-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string; fix?: string }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err as { code: string; message: string; fix?: string };
}

describe('bundleFor: an app built without its resources refuses before touching the node', () => {
  it('no Node runtime for the arch: names the arch and the command that builds one', async () => {
    const e = await refusal(bundleFor(dir, 'x64', 'x86_64', join(dir, 'cache')));
    expect(e.code).toBe('refused/no-bundle');
    expect(e.message).toContain('(x86_64)');
    expect(e.fix).toContain('node scripts/node-runtimes.mjs');
  });

  it('an arch the app does not know is refused the same way', async () => {
    const e = await refusal(bundleFor(dir, undefined, 'riscv64', join(dir, 'cache')));
    expect(e.code).toBe('refused/no-bundle');
    expect(e.message).toContain('(riscv64)');
  });

  it('a runtime but no agent bundle: says the agent bundle is missing and how to build it (not a bare ENOENT)', async () => {
    await mkdir(join(dir, 'node', 'linux-x64'), { recursive: true });
    await writeFile(join(dir, 'node', 'linux-x64', 'node'), 'not really node');
    const e = await refusal(bundleFor(dir, 'x64', 'x86_64', join(dir, 'cache')));
    expect(e.code).toBe('refused/no-bundle');
    expect(e.message).toContain('no EdgeFleet agent bundle');
    expect(e.message).toContain(join(dir, 'agent'));
    expect(e.fix).toContain('npm run build:agent');
  });
});
