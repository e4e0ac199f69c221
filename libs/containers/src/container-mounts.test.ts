import { existsSync } from 'node:fs';
import { chown, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConmonRuntime } from '@berth/runtime';
import { VolumeStore } from '@berth/volumes';
import { ContainerManager } from './container-manager.js';
import { openTestHost, removeTestHost, testRuntime, type TestHost } from './test-support.js';
import type { ImageSource } from './dependencies.js';

/**
 * Volumes, binds and tmpfs mounts with real containers (busybox bootstrapped into a temporary data
 * root, runc through conmon). `vol-image` is busybox with `VOLUME /home/app` (an image source
 * wrapper adds it), for the image's anonymous volumes. Containers, volumes and mounts are cleaned
 * up after each test and at the end, even on failure.
 */

let host: TestHost;
let runtime: ConmonRuntime;
let manager: ContainerManager;
let volumes: VolumeStore;
const hostDirs: string[] = [];

beforeAll(async () => {
  host = await openTestHost('mounts');
  const { dataRoot, runRoot, db, snapshotter, images: store } = host;
  const images: ImageSource = {
    async resolve(ref) {
      if (ref !== 'vol-image') return store.resolve(ref);
      const image = await store.resolve('busybox');
      return { ...image, config: { ...image.config, config: { ...image.config.config, Volumes: { '/home/app': {} } } } };
    },
    unpack: (id) => store.unpack(id),
  };
  runtime = testRuntime(host);
  volumes = new VolumeStore({ dataRoot, db, usedBy: (name) => manager.volumeUsers(name) });
  manager = new ContainerManager({ dataRoot, runRoot, db, images, snapshotter, runtime, volumes });
  await manager.init();
});

afterEach(async () => {
  for (const c of await manager.list({ all: true })) await manager.remove(c.Id, { force: true }).catch(() => {});
  for (const v of volumes.list()) await volumes.remove(v.Name, { force: true }).catch(() => {});
  for (const d of hostDirs.splice(0)) await rm(d, { recursive: true, force: true });
});

afterAll(async () => {
  manager?.close();
  await removeTestHost(host);
});

/** Runs a container to its end: exit code and output (stdout and stderr interleaved as logged). */
async function run(options: Parameters<ContainerManager['create']>[0]): Promise<{ id: string; code: number; output: string }> {
  const id = await manager.create(options);
  const exited = manager.wait(id, { condition: 'next-exit' });
  await manager.start(id);
  const code = await exited;
  let output = '';
  for await (const entry of manager.logs(id)) output += `${entry.line.toString()}${entry.partial ? '' : '\n'}`;
  return { id, code, output };
}

async function hostDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-mounts-host-'));
  hostDirs.push(dir);
  return dir;
}

describe('container mounts', () => {
  it('keeps named volume data after the container is gone, and shows the volume in inspect', async () => {
    const writer = await run({ image: 'busybox', binds: ['shared-data:/data'], cmd: ['sh', '-c', 'echo kept > /data/file'] });
    expect(writer.code).toBe(0);
    expect((await manager.inspect(writer.id)).Mounts).toEqual([
      {
        Type: 'volume',
        Name: 'shared-data',
        Source: join(host.dataRoot, 'volumes', 'shared-data', '_data'),
        Destination: '/data',
        Driver: 'local',
        Mode: 'z',
        RW: true,
        Propagation: '',
      },
    ]);
    expect(manager.volumeUsers('shared-data')).toEqual([writer.id]);
    await expect(volumes.remove('shared-data')).rejects.toThrow(`remove shared-data: volume is in use - [${writer.id}]`);
    await manager.remove(writer.id, { volumes: true }); // a named volume is never removed with its container
    expect(volumes.get('shared-data')).toBeDefined();
    const reader = await run({ image: 'busybox', mounts: [{ Type: 'volume', Source: 'shared-data', Target: '/in', ReadOnly: true }], cmd: ['cat', '/in/file'] });
    expect(reader).toMatchObject({ code: 0, output: 'kept\n' });
  });

  it('refuses writes on read-only volumes and binds', async () => {
    const dir = await hostDir();
    const r = await run({ image: 'busybox', binds: ['ro-vol:/v:ro', `${dir}:/b:ro`], cmd: ['sh', '-c', 'touch /v/x 2>&1; touch /b/x 2>&1; echo done'] });
    expect(r.output).toBe("touch: /v/x: Read-only file system\ntouch: /b/x: Read-only file system\ndone\n");
    expect(existsSync(join(dir, 'x'))).toBe(false);
  });

  it('fills a new volume from the image once, keeping owners and modes', async () => {
    const first = await run({ image: 'busybox', binds: ['etc-vol:/etc', 'home-vol:/home/app'], cmd: ['sh', '-c', 'grep ^root: /etc/passwd; id -un app'] });
    expect(first).toMatchObject({ code: 0, output: 'root:x:0:0:root:/root:/bin/sh\napp\n' });
    const etc = volumes.inspect('etc-vol').Mountpoint;
    expect((await stat(join(etc, 'shadow'))).mode & 0o777).toBe(0o640);
    const home = await stat(volumes.inspect('home-vol').Mountpoint);
    expect([home.uid, home.gid, home.mode & 0o7777]).toEqual([1000, 1000, 0o755]);
    expect(manager.get(first.id).MountPoints!.every((m) => m.CopyData === false)).toBe(true);
    // Only the first time: what the user deleted from the volume does not come back.
    await rm(join(etc, 'group'));
    await manager.start(first.id);
    await manager.wait(first.id);
    expect(existsSync(join(etc, 'group'))).toBe(false);
    const second = await run({ image: 'busybox', binds: ['etc-vol:/etc'], cmd: ['ls', '/etc/group'] });
    expect(second.code).not.toBe(0);
  });

  it('binds host directories: writable, missing ones made for -v, host owners untouched', async () => {
    const dir = await hostDir();
    await writeFile(join(dir, 'owned'), 'x');
    await chown(join(dir, 'owned'), 4321, 4321);
    await chown(dir, 4321, 4321);
    const missing = join(await hostDir(), 'made', 'by-v');
    const r = await run({ image: 'busybox', binds: [`${dir}:/host`, `${missing}:/m`], cmd: ['sh', '-c', 'echo hi > /host/new && ls -n /host/owned && touch /m/ok'] });
    expect(r.code).toBe(0);
    expect(r.output).toMatch(/ 4321 +4321 /);
    expect(await readFile(join(dir, 'new'), 'utf8')).toBe('hi\n');
    const [d, f] = [await stat(dir), await stat(join(dir, 'owned'))];
    expect([d.uid, f.uid, f.gid]).toEqual([4321, 4321, 4321]);
    expect(existsSync(join(missing, 'ok'))).toBe(true);
  });

  it('refuses a --mount bind with a missing source and leaves nothing behind', async () => {
    await expect(
      manager.create({ image: 'busybox', name: 'bad-bind', binds: ['would-be:/v'], mounts: [{ Type: 'bind', Source: '/no/such/src', Target: '/x' }], cmd: ['true'] }),
    ).rejects.toThrow('invalid mount config for type "bind": bind source path does not exist: /no/such/src');
    expect(await manager.list({ all: true })).toEqual([]);
    expect(volumes.list()).toEqual([]);
    expect(existsSync('/no/such/src')).toBe(false);
  });

  it('mounts tmpfs with Docker defaults', async () => {
    const r = await run({ image: 'busybox', tmpfs: { '/scratch': 'size=1m' }, cmd: ['sh', '-c', 'grep " /scratch " /proc/mounts; echo x > /scratch/f && cat /scratch/f'] });
    expect(r.code).toBe(0);
    expect(r.output).toMatch(/^tmpfs \/scratch tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k/);
    expect(r.output).toMatch(/\nx\n$/);
  });

  it('gives the image VOLUMEs anonymous volumes, shares them with --volumes-from, and rm -v removes them', async () => {
    const owner = await run({ image: 'vol-image', cmd: ['sh', '-c', 'echo from-owner > /home/app/f'] });
    const [mount] = (await manager.inspect(owner.id)).Mounts as Array<{ Type: string; Name: string; Destination: string }>;
    expect(mount).toMatchObject({ Type: 'volume', Destination: '/home/app', Name: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(volumes.inspect(mount!.Name).Labels).toEqual({ 'com.docker.volume.anonymous': '' });

    const reader = await run({ image: 'busybox', volumesFrom: [`${owner.id.slice(0, 12)}:ro`], cmd: ['sh', '-c', 'cat /home/app/f; touch /home/app/g 2>&1'] });
    expect(reader.output).toBe('from-owner\ntouch: /home/app/g: Read-only file system\n');
    // Still used by the reader: rm -v of the owner keeps it.
    await manager.remove(owner.id, { volumes: true });
    expect(volumes.get(mount!.Name)).toBeDefined();
    await manager.remove(reader.id, { volumes: true });
    expect(volumes.get(mount!.Name)).toBeDefined(); // not the reader's own anonymous volume
    // A container that made one and is removed with -v takes it along; without -v it stays.
    const a = await run({ image: 'vol-image', cmd: ['true'] });
    const b = await run({ image: 'vol-image', cmd: ['true'] });
    const nameOf = (id: string) => manager.get(id).MountPoints![0]!.Name!;
    const [va, vb] = [nameOf(a.id), nameOf(b.id)];
    await manager.remove(a.id, { volumes: true });
    await manager.remove(b.id);
    expect(volumes.get(va)).toBeUndefined();
    expect(volumes.get(vb)).toBeDefined();
  });
});
