import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  binDir,
  cacheRoot,
  checkDebianPackages,
  checkGoToolchain,
  checkKubernetesPin,
  ensureBinaries,
  findOnPath,
  LabPrerequisiteError,
  PINS,
} from '../lab/toolchain.ts';

// Each prerequisite failure is shown for real: a PATH without go, a fake old go, a pin the Go
// module proxy does not have, a package dpkg does not know. Nothing here builds anything.

const realPath = [process.env.PATH ?? '', '/usr/local/go/bin'].join(delimiter);
const haveGo = findOnPath('go', realPath) !== undefined;
const haveDpkg = findOnPath('dpkg-query', process.env.PATH) !== undefined;

async function failure(p: Promise<unknown>): Promise<LabPrerequisiteError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LabPrerequisiteError);
  const e = err as LabPrerequisiteError;
  expect(e.message).not.toContain('\n');
  return e;
}

let scratch = '';
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'edgefleet-toolchain-test-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('lab toolchain prerequisites', () => {
  test('a PATH without go fails with one line saying how to get Go', async () => {
    const e = await failure(checkGoToolchain(join(scratch, 'empty-bin')));
    expect(e.message).toBe('Go toolchain not found: install Go >= 1.26 (/usr/local/go/bin on PATH)');
  });

  test('a go older than the pinned Kubernetes needs is refused', async () => {
    const bin = join(scratch, 'old-go');
    await mkdir(bin);
    await writeFile(join(bin, 'go'), '#!/bin/sh\necho "go version go1.21.13 linux/amd64"\n');
    await chmod(join(bin, 'go'), 0o755);
    const e = await failure(checkGoToolchain(bin));
    expect(e.message).toMatch(/too old \(go version go1\.21\.13.*install Go >= 1\.26/);
  });

  test.skipIf(!haveGo)('the machine Go toolchain is accepted', async () => {
    await expect(checkGoToolchain(realPath)).resolves.toMatch(/\/go$/);
  });

  test.skipIf(!haveGo)('a Kubernetes pin the Go module proxy does not have fails with the fix', async () => {
    const go = await checkGoToolchain(realPath);
    const e = await failure(checkKubernetesPin('v1.99.0', go));
    expect(e.message).toBe(
      'Kubernetes version pin v1.99.0 is not available from the Go module proxy: set a released 1.36.x in src-main/demo/toolchain.ts',
    );
  });

  test.skipIf(!haveGo)('the pinned Kubernetes release is available', async () => {
    const go = await checkGoToolchain(realPath);
    await expect(checkKubernetesPin(PINS.KUBE_VERSION, go)).resolves.toBeUndefined();
  });

  test('a pin that is not a release version fails without asking the network', async () => {
    const e = await failure(checkKubernetesPin('1.36', '/nonexistent/go'));
    expect(e.message).toMatch(
      /^Kubernetes version pin 1\.36 is not a release version.*src-main\/demo\/toolchain\.ts$/,
    );
  });

  test.skipIf(!haveDpkg)(
    'a missing Debian package is named with the apt-get line that installs it',
    async () => {
      const e = await failure(
        checkDebianPackages(['openssl', 'edgefleet-no-such-package', 'edgefleet-nor-this']),
      );
      expect(e.message).toBe(
        'missing Debian package(s) edgefleet-no-such-package, edgefleet-nor-this: run apt-get install -y edgefleet-no-such-package edgefleet-nor-this',
      );
      await expect(checkDebianPackages(['openssl'])).resolves.toBeUndefined();
    },
  );
});

describe('ensureBinaries with nothing cached', () => {
  let saved: string | undefined;
  beforeAll(() => {
    saved = process.env.EDGEFLEET_CACHE;
    process.env.EDGEFLEET_CACHE = join(scratch, 'cache');
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.EDGEFLEET_CACHE;
    else process.env.EDGEFLEET_CACHE = saved;
  });

  test('the cache is version-keyed under EDGEFLEET_CACHE', () => {
    expect(cacheRoot()).toBe(join(scratch, 'cache'));
    expect(binDir({ ...PINS, KUBE_VERSION: 'v1.36.9' })).toBe(
      join(scratch, 'cache', 'bin', `k8s-v1.36.9-etcd-${PINS.ETCD_VERSION}-kwok-${PINS.KWOK_VERSION}`),
    );
  });

  test('needing a build without go on PATH fails before building', async () => {
    const e = await failure(
      ensureBinaries(PINS, { pathEnv: join(scratch, 'empty-bin'), debianPackages: [] }),
    );
    expect(e.message).toMatch(/^Go toolchain not found/);
  });

  test.skipIf(!haveGo)('needing a build with a wrong pin fails before building', async () => {
    const log: string[] = [];
    const pins = { ...PINS, KUBE_VERSION: 'v9.9.9' };
    const e = await failure(
      ensureBinaries(pins, { pathEnv: realPath, debianPackages: [], log: (l) => log.push(l) }),
    );
    expect(e.message).toMatch(/^Kubernetes version pin v9\.9\.9 is not available from the Go module proxy/);
    expect(log).toEqual([]);
  });
});
