import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ContentStore } from '@berth/content';
import { FailedPreconditionError, NotFoundError } from '@berth/errors';
import { ImageStore } from '@berth/images';
import { tarBuffer } from '@berth/layers';
import { openMetadataDb, type MetadataDb } from '@berth/metadata';
import { ConmonRuntime } from '@berth/runtime';
import { mountAll, mountPoints, OverlaySnapshotter } from '@berth/snapshots';
import { tempDir, type TempDir } from '@berth/testing';
import { unmountBelow } from './host-collector.js';
import { LocalWorker } from './local-worker.js';
import { snapshotDirs } from './mount-dirs.js';
import { MOUNT_ROOT_LABEL } from './worker.js';

/**
 * The in-process build worker on a temporary data root: leases hold what a build makes and
 * remove it when they end; tasks run in real runc containers (busybox bootstrapped).
 */

let dir: TempDir;
let db: MetadataDb;
let content: ContentStore;
let snapshotter: OverlaySnapshotter;
let images: ImageStore;
let runtime: ConmonRuntime;
let worker: LocalWorker;
let busyboxChain: string;

beforeAll(async () => {
  dir = tempDir('berth-worker-');
  db = openMetadataDb(join(dir.path, 'metadata.db'));
  content = new ContentStore(join(dir.path, 'content'));
  snapshotter = new OverlaySnapshotter(join(dir.path, 'snapshots'));
  // As the agent wires it: rmi and prune leave what a lease holds.
  images = new ImageStore({ db, content, snapshotter, held: (r) => worker?.leaseManager.holds(r) ?? false });
  const run = join(dir.path, 'run');
  runtime = new ConmonRuntime({ root: join(run, 'runc'), exitDir: join(run, 'exits'), persistDir: join(run, 'persist'), socketDir: join(run, 'sockets') });
  worker = new LocalWorker({ dataRoot: dir.path, content, snapshotter, images, runtime });
  const busybox = await images.bootstrap('busybox');
  busyboxChain = (await images.unpack(busybox.id))!;
});

afterAll(async () => {
  for (const c of await runtime?.list().catch(() => []) ?? []) await runtime.delete(c.id, { force: true }).catch(() => undefined);
  if (dir) await unmountBelow(dir.path);
  await worker?.close();
  snapshotter?.close();
  db?.close();
  dir?.remove();
});

/** A one-layer rootfs tar that no other image of the host has (a file named by the time). */
async function uniqueLayer(): Promise<Buffer> {
  return tarBuffer([{ header: { name: `built-${Date.now()}.txt`, mode: 0o644 }, body: Buffer.from('a layer a build made too\n') }]);
}

describe('leases', () => {
  it('remove what a deleted lease held, except committed snapshots and blobs an image references', async () => {
    const lease = await worker.leases.create({ ttlMs: 60_000 });
    const blob = await worker.content.ingest(Buffer.from('only the lease holds me'), { lease: lease.id });
    const busybox = await worker.images.get('busybox');
    const layer = JSON.parse(busybox.manifest.toString()).layers[0].digest as string;
    await worker.content.ingest(await worker.content.read(layer), { lease: lease.id });
    await worker.snapshots.prepare('lease-active', { parent: busyboxChain, lease: lease.id });
    await worker.snapshots.view('lease-view', { parent: busyboxChain, lease: lease.id });
    await worker.snapshots.prepare('lease-to-commit', { lease: lease.id });
    await worker.snapshots.commit('lease-committed', 'lease-to-commit');
    expect((await worker.leases.list()).find((l) => l.id === lease.id)?.resources).toEqual([
      { type: 'blob', id: blob.digest },
      { type: 'blob', id: layer },
      { type: 'snapshot', id: 'lease-active' },
      { type: 'snapshot', id: 'lease-view' },
      { type: 'snapshot', id: 'lease-to-commit' },
      { type: 'snapshot', id: 'lease-committed' }, // the commit is held by the leases of what it commits
    ]);

    await worker.leases.delete(lease.id);
    const keys = (await worker.snapshots.list()).map((s) => s.key);
    expect(keys).not.toContain('lease-active');
    expect(keys).not.toContain('lease-view');
    expect(keys).toContain('lease-committed');
    await expect(worker.content.info(blob.digest)).rejects.toThrow(`No such blob: ${blob.digest}`);
    expect((await worker.content.info(layer)).digest).toBe(layer);
    await expect(worker.leases.delete(lease.id)).rejects.toThrow(`No such lease: "${lease.id}" (it expired or was deleted)`);
    await worker.snapshots.remove('lease-committed');
  });

  it('keep what they hold from rmi: the blobs and committed snapshots of a build, until the lease ends', async () => {
    const image = await images.importTar(Readable.from([await uniqueLayer()]), { ref: 'held-by-build:1' });
    const layer = image.manifest.layers[0]!.digest;
    const chain = image.config.rootfs.diff_ids[0]!; // one layer: its chain ID is its diff ID
    const lease = await worker.leases.create({ ttlMs: 60_000 });
    // A build made the same layer: its blob under the lease, its snapshot committed under the chain ID.
    await worker.content.ingest(await worker.content.read(layer), { lease: lease.id });
    await worker.snapshots.prepare('build-same-layer', { lease: lease.id });
    await worker.snapshots.commit(chain, 'build-same-layer');
    expect(await images.remove('held-by-build:1')).toEqual([{ Untagged: 'held-by-build:1' }, { Deleted: image.id }]);
    expect((await worker.content.info(layer)).digest).toBe(layer);
    expect((await worker.snapshots.stat(chain)).kind).toBe('committed');

    await worker.leases.delete(lease.id);
    await expect(worker.content.info(layer)).rejects.toThrow(`No such blob: ${layer}`); // no image, no lease
    expect((await worker.snapshots.stat(chain)).kind).toBe('committed'); // a committed layer stays (build cache)
    await worker.snapshots.remove(chain);
  });

  it('keep a blob another lease holds until that one lets go of it', async () => {
    const build = await worker.leases.create({ ttlMs: 60_000 });
    const cache = await worker.leases.create({ id: 'test-cache' });
    expect(cache.expiresAt).toBe(0);
    const blob = await worker.content.ingest(Buffer.from('cached layer'), { lease: build.id });
    await worker.leases.addResource(cache.id, { type: 'blob', id: blob.digest });
    await worker.leases.delete(build.id);
    expect((await worker.content.info(blob.digest)).size).toBe(12);
    expect(await worker.leases.removeResource(cache.id, { type: 'blob', id: blob.digest })).toEqual({ collected: true, reclaimed: 12 });
    await expect(worker.content.info(blob.digest)).rejects.toBeInstanceOf(NotFoundError);
    await worker.leases.delete(cache.id);
  });

  it('expire unless renewed, and then unmount what the owner left under its mount root', async () => {
    const root = join(dir.path, 'builder', 'mounts', 'expiring');
    await mkdir(join(root, 'rootfs'), { recursive: true });
    const lease = await worker.leases.create({ ttlMs: 300, labels: { [MOUNT_ROOT_LABEL]: root } });
    const mounts = await worker.snapshots.prepare('left-mounted', { parent: busyboxChain, lease: lease.id });
    await mountAll(mounts, join(root, 'rootfs'));
    await writeFile(join(root, 'rootfs', 'new-file'), 'x');
    expect(await worker.leaseManager.collectExpired()).toEqual([]);
    await worker.leases.renew(lease.id, 300);
    // Collected once the renewed TTL has run out (before that, collecting finds nothing to do).
    await vi.waitFor(async () => expect(await worker.leaseManager.collectExpired()).toEqual([lease.id]), { timeout: 5_000, interval: 50 });
    expect((await mountPoints()).some((m) => m.target.startsWith(root))).toBe(false);
    expect(existsSync(root)).toBe(false);
    await expect(worker.snapshots.stat('left-mounted')).rejects.toThrow('Snapshot "left-mounted" does not exist');
    await expect(worker.leases.renew(lease.id, 300)).rejects.toThrow(`No such lease: "${lease.id}" (it expired or was deleted)`);
  });

  it('refuse a mount root outside the data root', async () => {
    await expect(worker.leases.create({ labels: { [MOUNT_ROOT_LABEL]: '/etc' } })).rejects.toThrow(
      `Invalid lease label ${MOUNT_ROOT_LABEL}="/etc": expected a directory inside the data root "${dir.path}"`,
    );
  });
});

describe('tasks', () => {
  it('run a command on an active snapshot, with its output, cache mounts and exit code', async () => {
    const lease = await worker.leases.create({ ttlMs: 60_000 });
    const mounts = await worker.snapshots.prepare('task-run', { parent: busyboxChain, lease: lease.id });
    const cache = join(dir.path, 'cache-dir');
    await mkdir(cache);
    let output = '';
    const code = await worker.tasks.run(
      {
        snapshot: 'task-run',
        lease: lease.id,
        args: ['/bin/sh', '-c', 'echo out; echo err >&2; echo kept > /made-here; echo c > /var/cache/x/c; pwd; exit 3'],
        env: ['PATH=/bin'],
        cwd: '/work/dir',
        mounts: [{ source: cache, destination: '/var/cache/x' }],
      },
      { onOutput: (t) => (output += t) },
    );
    expect(code).toBe(3);
    // stdout and stderr are separate pipes: their relative order is not defined.
    expect(output.split('\n').sort()).toEqual(['', '/work/dir', 'err', 'out']);
    expect(await readFile(join(cache, 'c'), 'utf8')).toBe('c\n');
    const { upper } = snapshotDirs(mounts);
    expect(await readFile(join(upper, 'made-here'), 'utf8')).toBe('kept\n');
    expect(existsSync(join(upper, 'var', 'cache'))).toBe(false);
    expect(existsSync(join(upper, 'work', 'dir'))).toBe(true);
    expect(await runtime.list()).toEqual([]);
    expect((await worker.leases.list()).find((l) => l.id === lease.id)?.resources).toEqual([{ type: 'snapshot', id: 'task-run' }]);
    await worker.leases.delete(lease.id);
  });

  it('kill the container when the signal aborts, and refuse a committed snapshot', async () => {
    const lease = await worker.leases.create({ ttlMs: 60_000 });
    await worker.snapshots.prepare('task-abort', { parent: busyboxChain, lease: lease.id });
    const controller = new AbortController();
    let output = '';
    const running = worker.tasks.run(
      { snapshot: 'task-abort', lease: lease.id, args: ['/bin/sh', '-c', 'echo started; sleep 60'], env: [] },
      { onOutput: (t) => ((output += t), t.includes('started') && controller.abort(new Error('cancelled'))), signal: controller.signal },
    );
    await expect(running).rejects.toThrow('cancelled');
    expect(await runtime.list()).toEqual([]);
    await expect(worker.tasks.run({ snapshot: busyboxChain, args: ['true'], env: [] })).rejects.toBeInstanceOf(FailedPreconditionError);
    await worker.leases.delete(lease.id);
  });
});
