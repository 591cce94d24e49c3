import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { loginShellPath, resetLoginShellPath } from './login-path.ts';

const saved = { SHELL: process.env.SHELL, PATH: process.env.PATH };
afterEach(() => {
  process.env.SHELL = saved.SHELL;
  process.env.PATH = saved.PATH;
  resetLoginShellPath();
});

it("takes PATH from the user's login shell (what exec credential plugins need), keeping the app's own entries", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ef-shell-'));
  try {
    // A fake login shell whose profile puts a plugin directory first.
    const shell = join(dir, 'fake-login-shell');
    await writeFile(
      shell,
      `#!/bin/sh\nPATH=/opt/cloud-sdk/bin:/usr/bin\nexport PATH\nshift # drop -l: the real /etc/profile would reset PATH\nexec /bin/sh "$@"\n`,
      {
        mode: 0o755,
      },
    );
    process.env.SHELL = shell;
    process.env.PATH = '/app/bundled/bin:/usr/bin';
    resetLoginShellPath();
    expect((await loginShellPath()).split(':')).toEqual([
      '/opt/cloud-sdk/bin',
      '/usr/bin',
      '/app/bundled/bin',
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
