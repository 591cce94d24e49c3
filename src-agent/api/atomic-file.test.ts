import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { writeFileAtomic, writeJsonAtomic } from './atomic-file.ts';

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('atomic file writes', () => {
  test('creates and replaces the file, owner-only, with no temp file left', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ef-atomic-'));
    const p = join(dir, 'state.json');
    await writeJsonAtomic(p, { a: 1 });
    await writeJsonAtomic(p, { a: 2 });
    expect(await readFile(p, 'utf8')).toBe('{\n  "a": 2\n}\n');
    expect((await stat(p)).mode & 0o777).toBe(0o600);
    await writeFileAtomic(join(dir, 'x'), Buffer.from('raw'), 0o640);
    expect((await stat(join(dir, 'x'))).mode & 0o777).toBe(0o640);
    expect((await readdir(dir)).sort()).toEqual(['state.json', 'x']);
  });

  test('a failed write leaves the target as it was and removes its temp file', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ef-atomic-'));
    const target = join(dir, 'busy');
    await mkdir(join(target, 'inside'), { recursive: true }); // rename onto a non-empty directory fails
    await expect(writeJsonAtomic(target, { a: 1 })).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['busy']);
    await expect(writeJsonAtomic(join(dir, 'missing', 'f.json'), {})).rejects.toThrow(/ENOENT/);
  });
});
