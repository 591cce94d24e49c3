import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommandError, sh } from './sh.ts';

/**
 * Container images the lab builds itself, so a kubelet node never pulls from a registry:
 * the pod sandbox ("pause") and a small test application, both static C programs compiled with
 * gcc -static, packed by this module into OCI image archives (index.json, manifest, config and an
 * uncompressed layer, every digest computed here) and imported with `ctr images import`.
 * The agent image (`buildAgentImage`) is packed the same way from the shipped Node runtime, the
 * lab machine's glibc it links against, and the agent bundle.
 * Archives are cached under ~/.cache/edgefleet/images keyed by a hash of what goes into them.
 */

export const PAUSE_IMAGE = 'registry.lab.invalid/pause:3.10';
export const APP_IMAGE = 'registry.lab.invalid/lab-app:1';
/** Repository of the agent image; the tag is `<version>-<content hash>` (see buildAgentImage). */
export const AGENT_IMAGE_REPO = 'registry.lab.invalid/edgefleet-agent';

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

export interface AgentImageSources {
  /** The agent bundle (`node scripts/build-agent.mjs`). */
  bundlePath: string;
  /** A glibc-linked Node runtime for linux-x64 (`node scripts/node-runtimes.mjs`). */
  nodePath: string;
  /** Tag prefix; the content hash is appended so a rebuilt bundle is a new image. */
  version: string;
}

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function defaultAgentImageSources(): AgentImageSources {
  return {
    bundlePath: join(REPO_ROOT, 'resources', 'agent', 'edgefleet-agent.mjs'),
    nodePath: join(REPO_ROOT, 'resources', 'node', 'linux-x64', 'node'),
    version: JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version as string,
  };
}

/** Where the image keeps the bundle (entrypoint: `node <this>`). */
export const AGENT_BUNDLE_IN_IMAGE = '/opt/edgefleet/agent/edgefleet-agent.mjs';

/**
 * The agent as a container image, like the Deployment in resources/manifests/controller.yaml
 * expects: entrypoint `node /opt/edgefleet/agent/edgefleet-agent.mjs`, so pod args are the agent's
 * (`controller ...`, `--version`). The Node runtime is dynamically linked against glibc, so the
 * layer carries the exact shared objects `ldd` resolves on this (Debian 12) machine, dynamic loader
 * included, at the paths the loader looks for them. No CA bundle: the agent only talks to the API
 * server, trusting the service account's ca.crt.
 */
export async function buildAgentImage(
  sources: AgentImageSources = defaultAgentImageSources(),
  cacheDir = defaultImageCacheDir(),
): Promise<LabImage> {
  for (const [what, path, hint] of [
    ['agent bundle', sources.bundlePath, 'node scripts/build-agent.mjs'],
    ['Node runtime', sources.nodePath, 'node scripts/node-runtimes.mjs'],
  ] as const) {
    if (!existsSync(path)) throw new ImageBuildError(`${what} ${path} is missing: build it with \`${hint}\``);
  }
  const libs = await sharedLibraries(sources.nodePath);
  const [bundle, node] = await Promise.all([readFile(sources.bundlePath), readFile(sources.nodePath)]);
  const libData = await Promise.all(libs.map(async (path) => ({ path, data: await readFile(path) })));
  const hash = createHash('sha256').update(bundle).update(node);
  for (const l of libData) hash.update(l.path).update(l.data);
  const key = hash.digest('hex');
  const ref = `${AGENT_IMAGE_REPO}:${sources.version}-${key.slice(0, 12)}`;
  const image = await cachedImage(ref, key, cacheDir, async () => ({
    ref,
    entrypoint: ['/usr/local/bin/node', AGENT_BUNDLE_IN_IMAGE],
    cmd: [],
    env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'NODE_ENV=production'],
    createdBy: `edgefleet lab: node + glibc from the lab machine + ${sources.bundlePath}`,
    files: withParentDirs([
      { name: 'tmp/', mode: 0o1777 },
      { name: 'etc/', mode: 0o755 },
      { name: 'usr/local/bin/node', mode: 0o755, data: node },
      ...libData.map((l) => ({ name: l.path.slice(1), mode: 0o755, data: l.data })),
      { name: AGENT_BUNDLE_IN_IMAGE.slice(1), mode: 0o644, data: bundle },
    ]),
  }));
  await pruneAgentImages(cacheDir, image.archivePath);
  return image;
}

/**
 * Every bundle rebuild is a new ~130 MB archive: drop agent archives other than `keep` once they are
 * an hour old (younger ones may be in use by a concurrent lab run).
 */
async function pruneAgentImages(cacheDir: string, keep: string): Promise<void> {
  const prefix = `${AGENT_IMAGE_REPO.replace(/^.*\//, '')}-`;
  for (const name of await readdir(cacheDir)) {
    const path = join(cacheDir, name);
    if (!name.startsWith(prefix) || !name.endsWith('.oci.tar') || path === keep) continue;
    const age = Date.now() - (await stat(path)).mtimeMs;
    if (age > 3_600_000) await Promise.all([rm(path, { force: true }), rm(`${path}.json`, { force: true })]);
  }
}

/**
 * Absolute paths of the shared objects a dynamically linked program loads here, loader included
 * (`ldd` lines `libx.so => /path (addr)` and `/lib64/ld-linux-x86-64.so.2 (addr)`; the vDSO has no file).
 */
async function sharedLibraries(program: string): Promise<string[]> {
  let out: string;
  try {
    out = await sh('ldd', [program]);
  } catch (err) {
    throw new ImageBuildError(`ldd ${program} failed: is it a linux-x64 ELF program for this machine?`, {
      cause: err,
    });
  }
  const paths = [...out.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)].map((m) => m[1] as string);
  if (!paths.some((p) => /\/ld-linux[^/]*\.so/.test(p))) {
    throw new ImageBuildError(`ldd ${program} names no dynamic loader; got:\n${out}`);
  }
  if (/not found/.test(out)) throw new ImageBuildError(`ldd ${program}: a library is missing:\n${out}`);
  return [...new Set(paths)].sort();
}

/** Adds every missing parent directory entry in front of its children (tar order matters). */
function withParentDirs(entries: readonly TarEntry[]): TarEntry[] {
  const out: TarEntry[] = [];
  const seen = new Set<string>();
  for (const e of entries) {
    const parts = e.name.replace(/\/$/, '').split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = `${parts.slice(0, i).join('/')}/`;
      if (!seen.has(dir)) {
        seen.add(dir);
        out.push({ name: dir, mode: 0o755 });
      }
    }
    if (!seen.has(e.name)) {
      seen.add(e.name);
      out.push(e);
    }
  }
  return out;
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

/** A C source of ./images compiled statically (the lab's images need no libc of their own). */
async function compileStatic(source: string, what: string): Promise<Buffer> {
  const work = await mkdtemp(join(tmpdir(), 'edgefleet-image-'));
  try {
    const binPath = join(work, 'program');
    try {
      await sh('gcc', ['-static', '-Os', '-s', '-Wall', '-o', binPath, join(SOURCES_DIR, source)], {
        timeoutMs: 120_000,
      });
    } catch (err) {
      const hint =
        err instanceof CommandError && /cannot find -lc/.test(err.stderr)
          ? ' (static libc missing: `apt-get install libc6-dev`)'
          : '';
      throw new ImageBuildError(`compiling ${source} for ${what} failed${hint}`, { cause: err });
    }
    return await readFile(binPath);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function ensureImage(spec: ImageSpec, cacheDir: string, gccVersion: string): Promise<LabImage> {
  const source = await readFile(join(SOURCES_DIR, spec.source));
  const key = sha256Hex(Buffer.concat([source, Buffer.from(`\n${gccVersion}\n${JSON.stringify(spec)}\n`)]));
  return cachedImage(spec.ref, key, cacheDir, async () => ({
    ref: spec.ref,
    entrypoint: spec.entrypoint,
    cmd: spec.cmd,
    env: ['PATH=/'],
    createdBy: `edgefleet lab: gcc -static ${spec.source}`,
    files: [
      { name: 'etc/', mode: 0o755 },
      { name: 'tmp/', mode: 0o1777 },
      { name: spec.binary, mode: 0o755, data: await compileStatic(spec.source, spec.ref) },
    ],
  }));
}

export const SHELL_APP_IMAGE = 'registry.lab.invalid/lab-app-shell:1';

/**
 * lab-app (entrypoint `/lab-app serve`, as APP_IMAGE) plus a POSIX shell and stty for interactive
 * exec: this machine's dash as /bin/sh and coreutils' stty, with the shared objects `ldd` resolves
 * for them. APP_IMAGE itself stays shell-less (tests rely on exec of /bin/sh failing there).
 */
export async function buildShellAppImage(cacheDir = defaultImageCacheDir()): Promise<LabImage> {
  const programs = [
    { from: '/bin/dash', to: 'bin/sh' },
    { from: '/bin/stty', to: 'bin/stty' },
  ];
  const libs = [...new Set((await Promise.all(programs.map((p) => sharedLibraries(p.from)))).flat())].sort();
  const [source, gccVersion, ...data] = await Promise.all([
    readFile(join(SOURCES_DIR, 'lab-app.c')),
    compilerVersion(),
    ...[...programs.map((p) => p.from), ...libs].map((p) => readFile(p)),
  ]);
  const hash = createHash('sha256').update(source).update(gccVersion);
  for (const d of data) hash.update(d);
  const key = hash.digest('hex');
  const fileData = (i: number) => data[i] as Buffer;
  return cachedImage(SHELL_APP_IMAGE, key, cacheDir, async () => ({
    ref: SHELL_APP_IMAGE,
    entrypoint: ['/lab-app'],
    cmd: ['serve'],
    env: ['PATH=/bin:/'],
    createdBy: 'edgefleet lab: gcc -static lab-app.c + dash and stty from the lab machine',
    files: withParentDirs([
      { name: 'etc/', mode: 0o755 },
      { name: 'tmp/', mode: 0o1777 },
      { name: 'lab-app', mode: 0o755, data: await compileStatic('lab-app.c', SHELL_APP_IMAGE) },
      ...programs.map((p, i) => ({ name: p.to, mode: 0o755, data: fileData(i) })),
      ...libs.map((l, i) => ({ name: l.slice(1), mode: 0o755, data: fileData(programs.length + i) })),
    ]),
  }));
}

/**
 * The archive for `key` from the cache, or built by `content()` and stored there. Write-then-rename
 * so a concurrent or interrupted build never leaves a half archive in the cache.
 */
async function cachedImage(
  ref: string,
  key: string,
  cacheDir: string,
  content: () => Promise<OciImageContent>,
): Promise<LabImage> {
  const name = ref.replace(/^.*\//, '').replace(':', '-');
  const archivePath = join(cacheDir, `${name}-${key.slice(0, 16)}.oci.tar`);
  const metaPath = `${archivePath}.json`;
  if (existsSync(archivePath) && existsSync(metaPath)) {
    const meta = JSON.parse(await readFile(metaPath, 'utf8')) as { manifestDigest: string };
    return { ref, archivePath, manifestDigest: meta.manifestDigest };
  }
  await mkdir(cacheDir, { recursive: true });
  const { archive, manifestDigest } = buildOciArchive(await content());
  const tmp = `${archivePath}.${process.pid}.tmp`;
  await writeFile(tmp, archive);
  await writeFile(metaPath, JSON.stringify({ ref, manifestDigest }));
  await rename(tmp, archivePath);
  return { ref, archivePath, manifestDigest };
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

/** What goes into a single-layer image. */
export interface OciImageContent {
  ref: string;
  entrypoint: string[];
  cmd: string[];
  env: string[];
  /** The config's history line: how the layer was made. */
  createdBy: string;
  /** The layer's files; parent directories must be listed before their children. */
  files: readonly TarEntry[];
}

/** An OCI image layout (oci-layout, index.json, blobs/sha256/*) packed as one tar. */
export function buildOciArchive(image: OciImageContent): { archive: Buffer; manifestDigest: string } {
  const layer = blob(tar(image.files));
  const config = blob(
    Buffer.from(
      JSON.stringify({
        created: '1970-01-01T00:00:00Z',
        architecture: 'amd64',
        os: 'linux',
        config: {
          Entrypoint: image.entrypoint,
          ...(image.cmd.length ? { Cmd: image.cmd } : {}),
          Env: image.env,
          WorkingDir: '/',
        },
        rootfs: { type: 'layers', diff_ids: [layer.digest] },
        history: [{ created: '1970-01-01T00:00:00Z', created_by: image.createdBy }],
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
  const tag = image.ref.slice(image.ref.lastIndexOf(':') + 1);
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
          annotations: { 'io.containerd.image.name': image.ref, 'org.opencontainers.image.ref.name': tag },
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
