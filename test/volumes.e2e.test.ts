/**
 * End to end through the real CLI, gateway, agent, conmon and runc: the volume behaviours of the
 * networking-and-volumes issue. One platform (temporary data root, random ports) for the file;
 * its stop() removes every container, and the data root with its volumes, even when a test fails.
 */
import { chown, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBusyboxPlatform, type TestPlatform } from '@berth/testing';

let p: TestPlatform;
const hostDirs: string[] = [];

beforeAll(async () => (p = await startBusyboxPlatform()), 180_000);

afterEach(async () => {
  const ids = (await p.berth(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
  if (ids.length > 0) await p.berth(['rm', '-f', ...ids]);
  await p.berth(['volume', 'prune', '-af']);
  for (const d of hostDirs.splice(0)) await rm(d, { recursive: true, force: true });
});

afterAll(() => p?.stop());

const ok = async (args: string[]) => {
  const r = await p.berth(args);
  expect(r.code, `berth ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
};

describe('berth volume', () => {
  it('creates, lists with filters, inspects and removes volumes', async () => {
    expect(await ok(['volume', 'create', '--label', 'app=web', 'web-data'])).toBe('web-data\n');
    const anon = (await ok(['volume', 'create'])).trim();
    expect(anon).toMatch(/^[0-9a-f]{64}$/);
    const ls = await ok(['volume', 'ls']);
    expect(ls.split('\n')[0]).toMatch(/^DRIVER\s+VOLUME NAME$/);
    expect(ls).toMatch(/\nlocal\s+web-data\n/);
    expect(await ok(['volume', 'ls', '-q', '--filter', 'label=app=web'])).toBe('web-data\n');
    expect(await ok(['volume', 'ls', '-q', '--filter', 'name=web'])).toBe('web-data\n');
    const [v] = JSON.parse(await ok(['volume', 'inspect', 'web-data'])) as Array<Record<string, unknown>>;
    expect(v).toEqual({
      CreatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      Driver: 'local',
      Labels: { app: 'web' },
      Mountpoint: join(p.dataRoot, 'volumes', 'web-data', '_data'),
      Name: 'web-data',
      Options: null,
      Scope: 'local',
    });
    expect(await ok(['volume', 'inspect', '--format', '{{.Scope}} {{.Driver}}', 'web-data'])).toBe('local local\n');
    const missing = await p.berth(['volume', 'inspect', 'nosuch']);
    expect(missing).toEqual({ code: 1, stdout: '[]\n', stderr: 'Error response from daemon: get nosuch: no such volume\n' });
    expect(await ok(['volume', 'rm', 'web-data', anon])).toBe(`web-data\n${anon}\n`);
    expect(await ok(['volume', 'ls', '-q'])).toBe('');
  });

  it('refuses to remove a volume in use, unless forced; prune spares named and used volumes', async () => {
    const id = (await ok(['create', '-v', 'busy:/data', 'busybox', 'true'])).trim();
    const refused = await p.berth(['volume', 'rm', 'busy']);
    expect(refused).toEqual({ code: 1, stdout: '', stderr: `Error response from daemon: remove busy: volume is in use - [${id}]\n` });
    expect(await ok(['volume', 'ls', '-q', '--filter', 'dangling=false'])).toBe('busy\n');

    await ok(['volume', 'create', 'named-unused']);
    const anon = (await ok(['volume', 'create'])).trim();
    await ok(['create', '-v', '/scratch', 'busybox', 'true']); // an anonymous volume in use
    const pruned = await ok(['volume', 'prune', '-f']);
    expect(pruned).toBe('Total reclaimed space: 0B\n'); // `volume create` without a name is not anonymous
    const all = await ok(['volume', 'prune', '-af']);
    expect(all).toBe(`Deleted Volumes:\n${[anon, 'named-unused'].sort().join('\n')}\n\nTotal reclaimed space: 0B\n`);
    expect((await ok(['volume', 'ls', '-q'])).split('\n').filter(Boolean)).toHaveLength(2); // busy + the anonymous one in use

    expect(await ok(['volume', 'rm', '-f', 'busy'])).toBe('busy\n');
  });
});

describe('volumes and mounts in containers', () => {
  it('keeps volume data after the container is gone (write in one, read in another)', async () => {
    await ok(['run', '--name', 'writer', '-v', 'keep:/data', 'busybox', 'sh', '-c', 'echo survives > /data/f']);
    await ok(['rm', '-v', 'writer']); // -v only takes anonymous volumes
    expect(await ok(['run', '--rm', '-v', 'keep:/in', 'busybox', 'cat', '/in/f'])).toBe('survives\n');
    expect(await ok(['run', '--rm', '--mount', 'type=volume,source=keep,target=/m,readonly', 'busybox', 'cat', '/m/f'])).toBe('survives\n');
  });

  it('refuses writes on read-only mounts', async () => {
    const r = await p.berth(['run', '--rm', '-v', 'ro-data:/data:ro', 'busybox', 'touch', '/data/x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('touch: /data/x: Read-only file system\n');
    const m = await p.berth(['run', '--rm', '--mount', 'type=volume,src=ro-data,dst=/d,ro', 'busybox', 'touch', '/d/x']);
    expect(m.stderr).toBe('touch: /d/x: Read-only file system\n');
  });

  it('fills a new volume mounted on /etc from the image', async () => {
    expect(await ok(['run', '--rm', '-v', 'etc:/etc', 'busybox', 'grep', '^app:', '/etc/passwd'])).toBe('app:x:1000:1000:app:/home/app:/bin/sh\n');
    const mountpoint = (await ok(['volume', 'inspect', '--format', '{{.Mountpoint}}', 'etc'])).trim();
    expect(await readFile(join(mountpoint, 'group'), 'utf8')).toContain('app:x:1000:');
  });

  it('bind-mounts a host directory: writable, host owners kept, a missing -v source made', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-e2e-bind-'));
    hostDirs.push(dir);
    await writeFile(join(dir, 'mine'), 'host file\n');
    await chown(join(dir, 'mine'), 2345, 2345);
    await chown(dir, 2345, 2345);
    const out = await ok(['run', '--rm', '-v', `${dir}:/host`, 'busybox', 'sh', '-c', 'cat /host/mine; echo from-container > /host/new']);
    expect(out).toBe('host file\n');
    expect(await readFile(join(dir, 'new'), 'utf8')).toBe('from-container\n');
    const [d, f] = [await stat(dir), await stat(join(dir, 'mine'))];
    expect([d.uid, d.gid, f.uid, f.gid]).toEqual([2345, 2345, 2345, 2345]);

    const missing = join(dir, 'made', 'here');
    await ok(['run', '--rm', '-v', `${missing}:/m`, 'busybox', 'touch', '/m/ok']);
    expect(existsSync(join(missing, 'ok'))).toBe(true);
  });

  it('refuses a --mount bind with a missing source and leaves nothing behind', async () => {
    const r = await p.berth(['run', '--name', 'nope', '-v', 'not-made:/v', '--mount', 'type=bind,source=/no/such/dir,target=/x', 'busybox', 'true']);
    expect(r).toEqual({
      code: 125,
      stdout: '',
      stderr: 'berth: Error response from daemon: invalid mount config for type "bind": bind source path does not exist: /no/such/dir\n',
    });
    expect(await ok(['ps', '-aq'])).toBe('');
    expect(await ok(['volume', 'ls', '-q'])).toBe('');
    expect(existsSync('/no/such/dir')).toBe(false);
  });

  it('mounts --tmpfs, shares volumes with --volumes-from, and shows Mounts in inspect', async () => {
    expect(await ok(['run', '--rm', '--tmpfs', '/scratch:size=2m', 'busybox', 'sh', '-c', 'grep -c " /scratch tmpfs .*size=2048k" /proc/mounts'])).toBe('1\n');
    const id = (await ok(['run', '-d', '--name', 'owner', '-v', '/shared', '-v', 'named:/named:ro', 'busybox', 'sh', '-c', 'echo hi > /shared/f; sleep 30'])).trim();
    const mounts = JSON.parse(await ok(['inspect', '--format', '{{json .Mounts}}', id])) as Array<Record<string, unknown>>;
    const anon = mounts.find((m) => m.Destination === '/shared')!;
    expect(anon).toEqual({
      Type: 'volume',
      Name: expect.stringMatching(/^[0-9a-f]{64}$/),
      Source: join(p.dataRoot, 'volumes', anon.Name as string, '_data'),
      Destination: '/shared',
      Driver: 'local',
      Mode: '',
      RW: true,
      Propagation: '',
    });
    expect(mounts.find((m) => m.Destination === '/named')).toMatchObject({ Type: 'volume', Name: 'named', Mode: 'ro', RW: false });
    // The owner writes its file right after start: wait for it through --volumes-from.
    let seen = '';
    for (let i = 0; i < 50 && seen !== 'hi\n'; i++) seen = (await p.berth(['run', '--rm', '--volumes-from', 'owner', 'busybox', 'cat', '/shared/f'])).stdout;
    expect(seen).toBe('hi\n');
    const ro = await p.berth(['run', '--rm', '--volumes-from', 'owner:ro', 'busybox', 'touch', '/shared/g']);
    expect(ro.stderr).toBe('touch: /shared/g: Read-only file system\n');
  });

  it('rm -v removes the container\'s anonymous volumes and keeps named ones; --rm does too', async () => {
    const id = (await ok(['create', '-v', '/anon', '-v', 'kept:/kept', 'busybox', 'true'])).trim();
    const anon = (await ok(['inspect', '--format', '{{range .Mounts}}{{if eq .Destination "/anon"}}{{.Name}}{{end}}{{end}}', id])).trim();
    expect(anon).toMatch(/^[0-9a-f]{64}$/);
    await ok(['rm', '-v', id]);
    expect((await ok(['volume', 'ls', '-q'])).split('\n').filter(Boolean)).toEqual(['kept']);

    await ok(['run', '--rm', '-v', '/gone', 'busybox', 'true']);
    expect((await ok(['volume', 'ls', '-q'])).split('\n').filter(Boolean)).toEqual(['kept']);

    const keepAnon = (await ok(['create', '-v', '/stays', 'busybox', 'true'])).trim();
    await ok(['rm', keepAnon]);
    expect((await ok(['volume', 'ls', '-q'])).split('\n').filter(Boolean)).toHaveLength(2);
  });
});
