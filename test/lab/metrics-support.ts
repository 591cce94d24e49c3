/**
 * Reading Prometheus text exposition in tests, and Debian's promtool (scripts/debian-packages.txt):
 * whether it is installed, and its verdict on a scrape, a rules file or a scrape config.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

/** Series (name with its label set, as printed) → value. */
export function parseMetricsText(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    m.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return m;
}

/** Metric family names with their TYPE, from the `# TYPE` lines. */
export function metricFamilies(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1] as string, m[2] as string);
  return out;
}

/** promtool's version line, or null when it is not installed. */
export async function promtoolVersion(): Promise<string | null> {
  try {
    const { stdout, stderr } = await promisify(execFile)('promtool', ['--version']);
    return (stdout || stderr).split('\n')[0] ?? '';
  } catch {
    return null;
  }
}

export interface PromtoolResult {
  code: number | null;
  /** stdout and stderr together: lint findings, failed rule tests, parse errors. */
  output: string;
}

/** Runs promtool with `args`, feeding `input` on stdin when given. */
export function promtool(args: string[], input?: string): Promise<PromtoolResult> {
  return new Promise((resolve, reject) => {
    const p = spawn('promtool', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    p.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    p.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, output }));
    p.stdin.end(input ?? '');
  });
}
