/**
 * A desktop-launched app inherits a minimal PATH, so exec credential plugins (aws, gke-gcloud-
 * auth-plugin, kubelogin…) installed via the user's shell profile would not be found. We ask the
 * user's login shell for its PATH once and give it to every exec plugin.
 */
import { execFile } from 'node:child_process';

let cached: Promise<string> | null = null;

export function loginShellPath(): Promise<string> {
  if (!cached) cached = probe();
  return cached;
}

/** For tests. */
export function resetLoginShellPath(): void {
  cached = null;
}

function probe(): Promise<string> {
  const fallback = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';
  if (process.platform === 'win32') return Promise.resolve(fallback);
  const shell = process.env.SHELL || '/bin/sh';
  const marker = '__EDGEFLEET_PATH__';
  return new Promise((resolve) => {
    // -l: login profile; -i would also read rc files but can hang on prompts without a TTY.
    execFile(
      shell,
      ['-l', '-c', `printf '${marker}%s${marker}' "$PATH"`],
      { timeout: 5_000, encoding: 'utf8' },
      (err, stdout) => {
        const m = new RegExp(`${marker}(.*)${marker}`, 's').exec(stdout ?? '');
        if (err || !m?.[1]) {
          resolve(fallback);
          return;
        }
        // Keep entries of the current PATH too (the shell may not know about app-bundled tools).
        const merged = [...m[1].split(':'), ...fallback.split(':')].filter(
          (p, i, all) => p && all.indexOf(p) === i,
        );
        resolve(merged.join(':'));
      },
    );
  });
}
