import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommandError, sh } from './sh.ts';

/**
 * Container images the lab builds itself, so a kubelet node never pulls from a registry:
 * the pod sandbox ("pause") and a small test application, both static C programs compiled with
 * gcc -static, packed by this module into OCI image archives (index.json, manifest, config and an
 * uncompressed layer, every digest computed here) and imported with `ctr images import`.
 * Archives are cached under ~/.cache/edgefleet/images keyed by a hash of what goes into them.
 */

export const PAUSE_IMAGE = 'registry.lab.invalid/pause:3.10';
export const APP_IMAGE = 'registry.lab.invalid/lab-app:1';

export interface LabImage {
  /** Full reference, e.g. registry.lab.invalid/lab-app:1. */
  ref: string;
  /** OCI image archive (tar of an OCI image layout) ready for `ctr images import`. */
  archivePath: string;
  /** sha256:... digest of the image manifest (what containerd reports as the image digest). */
  manifestDigest: string;
}

export interface ImageSpec {
  ref: string;
  source: string;
  binary: string;
  entrypoint: string[];
  cmd: string[];
}

const SOURCES_DIR = join(dirname(fileURLToPath(import.meta.url)), 'images');

const SPECS: readonly ImageSpec[] = [
  { ref: PAUSE_IMAGE, source: 'pause.c', binary: 'pause', entrypoint: ['/pause'], cmd: [] },
  { ref: APP_IMAGE, source: 'lab-app.c', binary: 'lab-app', entrypoint: ['/lab-app'], cmd: ['serve'] },
];

export class ImageBuildError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImageBuildError';
  }
}

export function defaultImageCacheDir(): string {
  return join(homedir(), '.cache', 'edgefleet', 'images');
}

/** Builds (or finds in the cache) every lab image. */
export async function ensureLabImages(cacheDir = defaultImageCacheDir()): Promise<LabImage[]> {
  await mkdir(cacheDir, { recursive: true });
  const gccVersion = await compilerVersion();
  const images: LabImage[] = [];
  for (const spec of SPECS) images.push(await ensureImage(spec, cacheDir, gccVersion));
  return images;
}

/** Imports images into a containerd's k8s.io namespace (where the CRI plugin looks). */
export async function importImages(containerdSocket: string, images: readonly LabImage[]): Promise<void> {
  for (const image of images) {
    try {
      await sh('ctr', ['-a', containerdSocket, '-n', 'k8s.io', 'images', 'import', image.archivePath], {
        timeoutMs: 120_000,
      });
    } catch (err) {
      throw new ImageBuildError(`importing ${image.ref} into containerd at ${containerdSocket} failed`, {
        cause: err,
      });
    }
  }
}

async function compilerVersion(): Promise<string> {
  try {
    return (await sh('gcc', ['--version'])).split('\n')[0] ?? '';
  } catch (err) {
    throw new ImageBuildError(
      'gcc is missing: the lab builds its pause and test images from C; install it with `apt-get install gcc libc6-dev`',
      { cause: err },
    );
  }
}

async function ensureImage(spec: ImageSpec, cacheDir: string, gccVersion: string): Promise<LabImage> {
  const source = await readFile(join(SOURCES_DIR, spec.source));
  const key = sha256Hex(Buffer.concat([source, Buffer.from(`\n${gccVersion}\n${JSON.stringify(spec)}\n`)]));
  const name = spec.ref.replace(/^.*\//, '').replace(':', '-');
  const archivePath = join(cacheDir, `${name}-${key.slice(0, 16)}.oci.tar`);
  const metaPath = `${archivePath}.json`;
  if (existsSync(archivePath) && existsSync(metaPath)) {
    const meta = JSON.parse(await readFile(metaPath, 'utf8')) as { manifestDigest: string };
    return { ref: spec.ref, archivePath, manifestDigest: meta.manifestDigest };
  }
  const work = await mkdtemp(join(tmpdir(), 'edgefleet-image-'));
  try {
    const binPath = join(work, spec.binary);
    try {
      await sh('gcc', ['-static', '-Os', '-s', '-Wall', '-o', binPath, join(SOURCES_DIR, spec.source)], {
        timeoutMs: 120_000,
      });
    } catch (err) {
      const hint =
        err instanceof CommandError && /cannot find -lc/.test(err.stderr)
          ? ' (static libc missing: `apt-get install libc6-dev`)'
          : '';
      throw new ImageBuildError(`compiling ${spec.source} for ${spec.ref} failed${hint}`, { cause: err });
    }
    const binary = await readFile(binPath);
    const { archive, manifestDigest } = buildOciArchive(spec, binary);
    // Write-then-rename so a concurrent or interrupted build never leaves a half archive in the cache.
    const tmp = `${archivePath}.${process.pid}.tmp`;
    await writeFile(tmp, archive);
    await writeFile(metaPath, JSON.stringify({ ref: spec.ref, manifestDigest }));
    await rename(tmp, archivePath);
    return { ref: spec.ref, archivePath, manifestDigest };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

interface Blob {
  digest: string;
  size: number;
  data: Buffer;
}

function blob(data: Buffer): Blob {
  return { digest: `sha256:${sha256Hex(data)}`, size: data.length, data };
}

/** An OCI image layout (oci-layout, index.json, blobs/sha256/*) packed as one tar. */
export function buildOciArchive(
  spec: ImageSpec,
  binary: Buffer,
): { archive: Buffer; manifestDigest: string } {
  const layer = blob(
    tar([
      { name: 'etc/', mode: 0o755 },
      { name: 'tmp/', mode: 0o1777 },
      { name: spec.binary, mode: 0o755, data: binary },
    ]),
  );
  const config = blob(
    Buffer.from(
      JSON.stringify({
        created: '1970-01-01T00:00:00Z',
        architecture: 'amd64',
        os: 'linux',
        config: {
          Entrypoint: spec.entrypoint,
          ...(spec.cmd.length ? { Cmd: spec.cmd } : {}),
          Env: ['PATH=/'],
          WorkingDir: '/',
        },
        rootfs: { type: 'layers', diff_ids: [layer.digest] },
        history: [
          { created: '1970-01-01T00:00:00Z', created_by: `edgefleet lab: gcc -static ${spec.source}` },
        ],
      }),
    ),
  );
  const manifest = blob(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: config.digest,
          size: config.size,
        },
        // Uncompressed layer: its digest is also its diff_id.
        layers: [
          { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer.digest, size: layer.size },
        ],
      }),
    ),
  );
  const tag = spec.ref.slice(spec.ref.lastIndexOf(':') + 1);
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: manifest.digest,
          size: manifest.size,
          platform: { architecture: 'amd64', os: 'linux' },
          annotations: { 'io.containerd.image.name': spec.ref, 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
  const entries: TarEntry[] = [
    { name: 'oci-layout', mode: 0o644, data: Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })) },
    { name: 'index.json', mode: 0o644, data: index },
    { name: 'blobs/', mode: 0o755 },
    { name: 'blobs/sha256/', mode: 0o755 },
  ];
  for (const b of [layer, config, manifest]) {
    entries.push({ name: `blobs/sha256/${b.digest.slice('sha256:'.length)}`, mode: 0o644, data: b.data });
  }
  return { archive: tar(entries), manifestDigest: manifest.digest };
}

export interface TarEntry {
  /** Relative path; a trailing slash makes a directory. Must fit ustar's 100-byte name field. */
  name: string;
  mode: number;
  data?: Buffer;
}

/** A minimal deterministic ustar writer: regular files and directories, root-owned, mtime 0. */
export function tar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const isDir = e.name.endsWith('/');
    const data = isDir ? Buffer.alloc(0) : (e.data ?? Buffer.alloc(0));
    if (Buffer.byteLength(e.name) > 100) throw new Error(`tar entry name too long for ustar: ${e.name}`);
    const h = Buffer.alloc(512);
    h.write(e.name, 0, 'utf8');
    h.write(octal(e.mode, 7), 100);
    h.write(octal(0, 7), 108); // uid
    h.write(octal(0, 7), 116); // gid
    h.write(octal(data.length, 11), 124);
    h.write(octal(0, 11), 136); // mtime
    h.fill(' ', 148, 156); // checksum is computed with its own field as spaces
    h.write(isDir ? '5' : '0', 156);
    h.write('ustar\u000000', 257, 'binary');
    let sum = 0;
    for (const byte of h) sum += byte;
    h.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 'binary');
    parts.push(h, data);
    const pad = (512 - (data.length % 512)) % 512;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width, '0')}\u0000`;
}
