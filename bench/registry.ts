/**
 * Registry throughput: push and pull MiB/s of Berth's registry (apps/registry, started as a
 * process) beside Debian's `docker-registry` (distribution 2.8), with skopeo as the client of both,
 * plus Berth's own client (@berth/registry-client) for comparison. Two images, generated as OCI
 * layout directories of random data: one 256 MiB layer, and 20 layers of 8 MiB.
 *
 *   npx tsx bench/registry.ts [--scale 0.1] [--keep]
 *
 * --scale multiplies the layer sizes (a quick run); --keep leaves the temp dir for inspection.
 * Layers are gzip streams at level 0 (stored blocks) so that no client spends time compressing or
 * decompressing; skopeo runs with --preserve-digests and a fresh HOME (no blob-info cache, hence
 * no cross-repository mounts). Every push goes to a new repository, every pull into an empty dir.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs, promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import { ContentStore } from '@berth/content';
import { MediaType, sha256 } from '@berth/oci';
import { REGISTRY_NODE_FLAGS, REPO_ROOT, serviceEntry } from '@berth/platform';
import { RegistryClient } from '@berth/registry-client';
import { freePort, startRegistryProcess } from '@berth/testing';

const run = promisify(execFile);
const MiB = 1024 * 1024;

const { values } = parseArgs({ options: { scale: { type: 'string', default: '1' }, keep: { type: 'boolean', default: false } } });
const scale = Number(values.scale);
if (!(scale > 0)) throw new Error(`--scale must be a positive number, got "${values.scale}"`);

interface Layout {
  /** Repository-safe name: `one-layer`, `twenty-layers`. */
  slug: string;
  /** Shown in the table: `1x256MiB`. */
  name: string;
  dir: string;
  /** Bytes of all blobs (what moves over the wire). */
  bytes: number;
  manifestDigest: string;
}

interface Target {
  name: string;
  host: string;
  /** The server process (CPU and memory are read from /proc/<pid>). */
  pid: number;
  stop(): Promise<void>;
}

/** Writes an OCI layout with `count` random gzip layers of `size` bytes each (uncompressed size). */
async function makeLayout(dir: string, slug: string, name: string, count: number, size: number): Promise<Layout> {
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const layers: Array<{ digest: string; size: number; diffId: string }> = [];
  for (let i = 0; i < count; i++) {
    const temp = join(dir, `layer-${i}.tmp`);
    const diff = createHash('sha256');
    const blob = createHash('sha256');
    let blobSize = 0;
    async function* random(): AsyncGenerator<Buffer> {
      for (let left = size; left > 0; left -= MiB) {
        const chunk = randomBytes(Math.min(MiB, left));
        diff.update(chunk);
        yield chunk;
      }
    }
    const gzip = createGzip({ level: 0 });
    gzip.on('data', (c: Buffer) => {
      blob.update(c);
      blobSize += c.length;
    });
    await pipeline(Readable.from(random()), gzip, createWriteStream(temp));
    const digest = `sha256:${blob.digest('hex')}`;
    await rm(join(blobs, digest.slice(7)), { force: true });
    await rename(temp, join(blobs, digest.slice(7)));
    layers.push({ digest, size: blobSize, diffId: `sha256:${diff.digest('hex')}` });
  }
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) } }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: sha256(config), size: config.length },
      layers: layers.map((l) => ({ mediaType: MediaType.OciLayerGzip, digest: l.digest, size: l.size })),
    }),
  );
  for (const b of [config, manifest]) await writeFile(join(blobs, sha256(b).slice(7)), b);
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: MediaType.OciManifest, digest: sha256(manifest), size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'bench' } }],
    }),
  );
  const bytes = layers.reduce((n, l) => n + l.size, config.length + manifest.length);
  return { slug, name, dir, bytes, manifestDigest: sha256(manifest) };
}

/** Berth's registry as `berth platform up` runs it: its bundle when fresh, with the platform's V8 flags. */
async function startBerth(root: string): Promise<Target> {
  const command = serviceEntry(REPO_ROOT, 'registry', REGISTRY_NODE_FLAGS);
  process.stdout.write(`berth registry: ${command.slice(1).join(' ').replace(REPO_ROOT + '/', '')}\n`);
  const proc = await startRegistryProcess(['--listen', '127.0.0.1:0', '--root', root, '--log-level', 'silent'], { timeoutMs: 30_000, command });
  return { name: 'berth', host: `127.0.0.1:${proc.port}`, pid: proc.child.pid!, stop: () => proc.stop('SIGTERM') };
}

async function startDistribution(root: string): Promise<Target | string> {
  try {
    await run('docker-registry', ['--version']);
  } catch {
    return "Debian's docker-registry is not installed (apt-get install docker-registry): distribution rows skipped";
  }
  const port = await freePort();
  const config = join(root, 'config.yml');
  await mkdir(join(root, 'data'), { recursive: true });
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(root, 'data')}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/v2/`).then((r) => r.ok, () => false);
    if (ok) break;
    if (child.exitCode !== null || Date.now() > deadline) return `docker-registry did not start: ${err.trim()}`;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    name: 'distribution',
    host: `127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Wall seconds of `fn`, and the CPU seconds (user + system) process `pid` spent meanwhile. */
async function timed(pid: number, fn: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const cpu0 = await cpuSeconds(pid);
  const start = process.hrtime.bigint();
  await fn();
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  return { wall, cpu: (await cpuSeconds(pid)) - cpu0 };
}

/**
 * utime + stime of a process from /proc/<pid>/stat (fields 14 and 15, in clock ticks of 1/100 s on
 * Linux): what the process itself burnt, however loaded the machine is.
 */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** VmRSS and RssAnon (private memory) of a process, in MiB. */
async function memory(pid: number): Promise<{ rss: number; anon: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kib('VmRSS') / 1024, anon: kib('RssAnon') / 1024 };
}

async function skopeo(work: string, args: string[]): Promise<void> {
  const home = await mkdtemp(join(work, 'home-'));
  try {
    await run('skopeo', args, { env: { ...process.env, HOME: home, XDG_RUNTIME_DIR: home }, maxBuffer: 16 * MiB });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

interface Row {
  registry: string;
  client: string;
  image: string;
  /** MiB/s */
  push: number;
  pull: number;
  /** CPU seconds of the registry process per GiB moved. */
  pushCpu: number;
  pullCpu: number;
}

function row(target: Target, client: string, layout: Layout, push: { wall: number; cpu: number }, pull: { wall: number; cpu: number }): Row {
  const mib = layout.bytes / MiB;
  return {
    registry: target.name,
    client,
    image: layout.name,
    push: mib / push.wall,
    pull: mib / pull.wall,
    pushCpu: push.cpu / (mib / 1024),
    pullCpu: pull.cpu / (mib / 1024),
  };
}

async function measure(target: Target, layouts: Layout[], work: string, haveSkopeo: boolean): Promise<Row[]> {
  const rows: Row[] = [];
  for (const layout of layouts) {
    if (haveSkopeo) {
      const ref = `docker://${target.host}/bench/skopeo-${layout.slug}:bench`;
      const push = await timed(target.pid, () => skopeo(work, ['copy', '--quiet', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout.dir}:bench`, ref]));
      const out = join(work, `pull-${target.name}-${layout.slug}`);
      const pull = await timed(target.pid, () => skopeo(work, ['copy', '--quiet', '--preserve-digests', '--src-tls-verify=false', ref, `oci:${out}:bench`]));
      await rm(out, { recursive: true, force: true });
      rows.push(row(target, 'skopeo', layout, push, pull));
    }
    // Berth's client: push from a ContentStore holding the layout's blobs, pull into an empty one.
    const client = new RegistryClient({ dockerConfig: join(work, 'docker') });
    try {
      const source = new ContentStore(join(layout.dir, '..', `${layout.slug}-store`));
      await linkLayoutIntoStore(layout, source);
      const ref = `${target.host}/bench/berth-${layout.slug}:bench`;
      const push = await timed(target.pid, () => client.push(ref, { store: source, manifestDigest: layout.manifestDigest }));
      const storeDir = join(work, `store-${target.name}-${layout.slug}`);
      const pull = await timed(target.pid, () => client.pull(ref, { store: new ContentStore(storeDir) }));
      await rm(storeDir, { recursive: true, force: true });
      rows.push(row(target, 'berth', layout, push, pull));
    } finally {
      client.close();
    }
  }
  return rows;
}

/** The layout's blobs as a ContentStore, by hard links (no copy). */
async function linkLayoutIntoStore(layout: Layout, store: ContentStore): Promise<void> {
  for (const name of await readdir(join(layout.dir, 'blobs', 'sha256'))) {
    const digest = `sha256:${name}`;
    if (!(await store.has(digest))) await link(join(layout.dir, 'blobs', 'sha256', name), store.path(digest));
  }
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'berth-bench-registry-'));
  const targets: Target[] = [];
  const notes: string[] = [];
  try {
    const haveSkopeo = await run('skopeo', ['--version']).then(() => true, () => false);
    if (!haveSkopeo) notes.push('skopeo is not installed (apt-get install skopeo): skopeo rows skipped');
    const big = Math.round(256 * MiB * scale);
    const small = Math.round(8 * MiB * scale);
    process.stdout.write(`generating images (scale ${scale}) in ${work} ...\n`);
    const layouts = [
      await makeLayout(join(work, 'one-layer'), 'one-layer', `1x${fmtSize(big)}`, 1, big),
      await makeLayout(join(work, 'twenty-layers'), 'twenty-layers', `20x${fmtSize(small)}`, 20, small),
    ];
    targets.push(await startBerth(join(work, 'berth-root')));
    const distribution = await startDistribution(join(work, 'distribution-root'));
    if (typeof distribution === 'string') notes.push(distribution);
    else targets.push(distribution);

    const rows: Row[] = [];
    const memoryRows: string[][] = [];
    for (const t of targets) {
      // Idle means idle: a few seconds after start (or after the last transfer) with no request.
      await new Promise((r) => setTimeout(r, 3000));
      const idle = await memory(t.pid);
      process.stdout.write(`measuring ${t.name} at ${t.host} ...\n`);
      rows.push(...(await measure(t, layouts, work, haveSkopeo)));
      await new Promise((r) => setTimeout(r, 3000));
      const after = await memory(t.pid);
      memoryRows.push([t.name, idle.rss.toFixed(1), idle.anon.toFixed(1), after.rss.toFixed(1), after.anon.toFixed(1)]);
    }
    process.stdout.write('\n');
    const header = ['registry', 'client', 'image', 'push MiB/s', 'pull MiB/s', 'push CPU s/GiB', 'pull CPU s/GiB'];
    const table = rows.map((r) => [r.registry, r.client, r.image, r.push.toFixed(1), r.pull.toFixed(1), r.pushCpu.toFixed(2), r.pullCpu.toFixed(2)]);
    printTable(header, table, 3);
    process.stdout.write('\n');
    printTable(['registry', 'idle RSS MiB', 'idle anon MiB', 'RSS after MiB', 'anon after MiB'], memoryRows, 1);
    for (const n of notes) process.stdout.write(`note: ${n}\n`);
  } finally {
    for (const t of targets) await t.stop().catch(() => undefined);
    if (!values.keep) await rm(work, { recursive: true, force: true });
  }
}

/** Columns left-aligned up to `textColumns`, numbers right-aligned after. */
function printTable(header: string[], table: string[][], textColumns: number): void {
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < textColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  process.stdout.write(`${line(header)}\n`);
  for (const row of table) process.stdout.write(`${line(row)}\n`);
}

function fmtSize(bytes: number): string {
  return bytes >= MiB ? `${+(bytes / MiB).toFixed(1)}MiB` : `${+(bytes / 1024).toFixed(1)}KiB`;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/registry: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
