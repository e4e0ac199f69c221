import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Readable } from 'node:stream';
import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from '@berth/errors';
import { applyLayer, listChanges, packDirectory, readTarEntries, writeTar } from '@berth/layers';
import { afterEach, describe, expect, it } from 'vitest';
import { type Mount, mountAll, mountPoints, OverlaySnapshotter, unmount } from './index.js';

const run = promisify(execFile);

let dirs: string[] = [];
let targets: string[] = [];
let snapshotters: OverlaySnapshotter[] = [];

afterEach(async () => {
  for (const target of targets.splice(0).reverse()) await unmount(target);
  for (const s of snapshotters.splice(0)) await s.settled().then(() => s.close());
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function setup(): { root: string; snapshotter: OverlaySnapshotter; mountpoint: () => string } {
  const base = mkdtempSync(join(tmpdir(), 'berth-snap-'));
  dirs.push(base);
  const root = join(base, 'snapshots');
  const snapshotter = new OverlaySnapshotter(root);
  snapshotters.push(snapshotter);
  let n = 0;
  const mountpoint = () => {
    const target = join(base, `mnt${n++}`);
    mkdirSync(target);
    targets.push(target);
    return target;
  };
  return { root, snapshotter, mountpoint };
}

/** Commits a layer whose upper dir `fill` writes into. */
async function layer(s: OverlaySnapshotter, name: string, parent: string | undefined, fill: (dir: string) => void) {
  await s.prepare(`${name}-unpack`, parent);
  fill(s.upperDir(`${name}-unpack`));
  await s.commit(name, `${name}-unpack`);
}

const errorOf = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as Error);

describe('OverlaySnapshotter', () => {
  it('stacks committed layers, hides whited-out files and writes to the active upper dir', async () => {
    const { snapshotter: s, mountpoint } = setup();
    await layer(s, 'l1', undefined, (d) => {
      mkdirSync(join(d, 'etc'));
      writeFileSync(join(d, 'etc/base'), 'from l1');
      writeFileSync(join(d, 'etc/doomed'), 'deleted by l3');
    });
    await layer(s, 'l2', 'l1', (d) => {
      mkdirSync(join(d, 'etc'));
      writeFileSync(join(d, 'etc/base'), 'from l2');
    });
    await layer(s, 'l3', 'l2', (d) => {
      mkdirSync(join(d, 'etc'));
      execFileSync('mknod', [join(d, 'etc/doomed'), 'c', '0', '0']);
    });
    const mounts = await s.prepare('container', 'l3');
    expect(s.lowerDirs('container')).toEqual(['l3', 'l2', 'l1'].map((k) => s.upperDir(k)));
    expect(mounts).toEqual([
      {
        type: 'overlay',
        source: 'overlay',
        options: [
          `lowerdir=${s.lowerDirs('container').join(':')}`,
          `upperdir=${s.upperDir('container')}`,
          `workdir=${join(s.upperDir('container'), '../work')}`,
        ],
      },
    ]);
    const target = mountpoint();
    await mountAll(mounts, target);
    expect(readdirSync(join(target, 'etc'))).toEqual(['base']);
    expect(readFileSync(join(target, 'etc/base'), 'utf8')).toBe('from l2');
    writeFileSync(join(target, 'etc/new'), 'written by the container');
    expect(readFileSync(join(s.upperDir('container'), 'etc/new'), 'utf8')).toBe('written by the container');
    expect(await s.stat('container')).toMatchObject({ key: 'container', parent: 'l3', kind: 'active' });
    expect((await s.list()).map((i) => [i.key, i.kind])).toEqual([
      ['l1', 'committed'],
      ['l2', 'committed'],
      ['l3', 'committed'],
      ['container', 'active'],
    ]);
    expect((await s.usage('container')).inodes).toBe(3); // fs/, etc/, etc/new

    await unmount(target);
    expect((await mountPoints()).some((m) => m.target === target)).toBe(false);
    await unmount(target); // a no-op now
  });

  it('mounts a parentless snapshot as a bind, and views read-only', async () => {
    const { snapshotter: s, mountpoint } = setup();
    const rw = mountpoint();
    await mountAll(await s.prepare('base'), rw);
    writeFileSync(join(rw, 'file'), 'x');
    expect(existsSync(join(s.upperDir('base'), 'file'))).toBe(true);
    await unmount(rw);
    await s.commit('base-layer', 'base');

    const single = await s.view('one-layer', 'base-layer');
    expect(single).toEqual([{ type: 'bind', source: s.upperDir('base-layer'), options: ['rbind', 'ro'] }]);
    const ro = mountpoint();
    await mountAll(single, ro);
    expect(readFileSync(join(ro, 'file'), 'utf8')).toBe('x');
    expect(() => writeFileSync(join(ro, 'other'), 'y')).toThrow(/EROFS/);

    await layer(s, 'second', 'base-layer', (d) => writeFileSync(join(d, 'second'), '2'));
    const two = mountpoint();
    await mountAll(await s.view('two-layers', 'second'), two);
    expect(readdirSync(two).sort()).toEqual(['file', 'second']);
    expect(() => writeFileSync(join(two, 'other'), 'y')).toThrow(/EROFS/);
  });

  it('mounts a 120-layer chain with relative lowerdirs', async () => {
    const { root, snapshotter: s, mountpoint } = setup();
    let parent: string | undefined;
    for (let i = 0; i < 120; i++) {
      await layer(s, `sha256:${String(i).padStart(64, '0')}`, parent, (d) => writeFileSync(join(d, `layer-${i}`), String(i)));
      parent = `sha256:${String(i).padStart(64, '0')}`;
    }
    const mounts = await s.prepare('tall', parent);
    expect(mounts[0].cwd).toBe(root);
    expect(mounts[0].options[0]).toMatch(/^lowerdir=120\/fs:119\/fs:.*:1\/fs$/);
    const target = mountpoint();
    await mountAll(mounts, target);
    expect(readFileSync(join(target, 'layer-0'), 'utf8')).toBe('0');
    expect(readFileSync(join(target, 'layer-119'), 'utf8')).toBe('119');
    expect(readdirSync(target)).toHaveLength(120);
  });

  it('refuses to remove a snapshot that others depend on or that is mounted', async () => {
    const { root, snapshotter: s, mountpoint } = setup();
    await layer(s, 'base', undefined, (d) => writeFileSync(join(d, 'f'), 'f'));
    await s.prepare('child-a', 'base');
    await s.view('child-b', 'base');
    const err = await errorOf(s.remove('base'));
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect(err?.message).toBe('Cannot remove snapshot "base": 2 snapshot(s) depend on it ("child-a", "child-b")');

    const target = mountpoint();
    await mountAll(await s.mounts('child-a'), target);
    await expect(s.remove('child-a')).rejects.toThrow(
      `Cannot remove snapshot "child-a": it is still mounted on "${target}", unmount it first`,
    );
    await unmount(target);
    await s.remove('child-a');
    await s.remove('child-b');
    await s.remove('base');
    expect(await s.list()).toEqual([]);
    await s.settled();
    expect(readdirSync(root)).toEqual(expect.not.arrayContaining([expect.stringMatching(/^\d+$|^removed-/)]));
    expect(await s.exists('base')).toBe(false);
  });

  it('does not take a bind mount from another snapshotter with the same ids for its own', async () => {
    // Both roots are named "snapshots" and both first snapshots are id 1: only the directory
    // actually bind-mounted is in use (CI: a build's view in an e2e data root blocked this test).
    const other = setup();
    await layer(other.snapshotter, 'base', undefined, (d) => writeFileSync(join(d, 'f'), 'other'));
    const view = await other.snapshotter.view('other-view', 'base');
    expect(view[0].type).toBe('bind');
    const target = other.mountpoint();
    await mountAll(view, target);
    await expect(other.snapshotter.remove('base')).rejects.toThrow(/depend on it/);
    await expect(other.snapshotter.remove('other-view')).resolves.toBeUndefined();
    await expect(other.snapshotter.remove('base')).rejects.toThrow(`it is still mounted on "${target}"`);

    const { snapshotter: s } = setup();
    await layer(s, 'base', undefined, (d) => writeFileSync(join(d, 'f'), 'mine'));
    expect(await s.list()).toEqual([expect.objectContaining({ key: 'base' })]);
    await s.remove('base');
    expect(await s.exists('base')).toBe(false);
  });

  it('reports precise errors', async () => {
    const { snapshotter: s } = setup();
    await s.prepare('active');
    const cases: Array<[Promise<unknown>, new (...a: never[]) => Error, string]> = [
      [s.prepare('active'), AlreadyExistsError, 'Snapshot "active" already exists'],
      [s.prepare('x', 'missing'), NotFoundError, 'Parent snapshot "missing" does not exist'],
      [s.prepare('y', 'active'), FailedPreconditionError, 'Cannot use snapshot "active" as a parent: it is active, not committed'],
      [s.stat('missing'), NotFoundError, 'Snapshot "missing" does not exist'],
      [s.remove('missing'), NotFoundError, 'Snapshot "missing" does not exist'],
    ];
    for (const [promise, type, message] of cases) {
      const err = await errorOf(promise);
      expect(err).toBeInstanceOf(type);
      expect(err?.message).toBe(message);
    }
    await s.view('v');
    await expect(s.commit('c', 'v')).rejects.toThrow('Cannot commit snapshot "v": it is view, not active');
    await s.commit('done', 'active');
    await s.prepare('again');
    await expect(s.commit('done', 'again')).rejects.toThrow(AlreadyExistsError);
    expect(() => s.upperDir('active')).toThrow('Snapshot "active" does not exist');
  });

  it('sweeps what a crash left behind when it opens', async () => {
    const { root, snapshotter: s } = setup();
    await layer(s, 'kept', undefined, (d) => writeFileSync(join(d, 'f'), 'kept'));
    await layer(s, 'half-removed', undefined, () => {});
    s.close();
    snapshotters = [];
    const keptId = readdirSync(root).filter((n) => /^\d+$/.test(n)).sort()[0];
    // A remove whose transaction never committed: renamed, but the row is still there.
    renameSync(join(root, keptId), join(root, `removed-${keptId}`));
    // A finished remove that crashed before rm -rf, and a dir whose creating transaction rolled back.
    mkdirSync(join(root, 'removed-999/fs'), { recursive: true });
    mkdirSync(join(root, '998/fs'), { recursive: true });

    const reopened = new OverlaySnapshotter(root);
    snapshotters.push(reopened);
    expect(readFileSync(join(reopened.upperDir('kept'), 'f'), 'utf8')).toBe('kept');
    await reopened.settled();
    expect(readdirSync(root).sort()).toEqual(['1', '2', 'metadata.db', 'metadata.db-shm', 'metadata.db-wal']);
  });

  it('answers remove before the dir is deleted, and a process killed in between loses and leaks nothing', async () => {
    const { root, snapshotter: s } = setup();
    await s.prepare('kept');
    writeFileSync(join(s.upperDir('kept'), 'f'), 'kept');
    const worker = join(import.meta.dirname, '../testdata/remove-then-die.ts');
    const tsx = join(import.meta.dirname, '../../../node_modules/.bin/tsx');
    const died = await errorOf(run(tsx, [worker, root], { cwd: join(import.meta.dirname, '../../..') }));
    // tsx runs the script in a child process and passes its death on as 128 + 9.
    const { code, signal, stdout } = died as Error & { code?: number; signal?: string; stdout: string };
    expect(signal === 'SIGKILL' || code === 137, `${code} ${signal}`).toBe(true);
    const dir = stdout.trim();
    const id = dir.slice(dir.lastIndexOf('/') + 1);
    // Killed between the rename and the deletion: the tree is still there, under its trash name.
    expect(existsSync(dir)).toBe(false);
    expect(readdirSync(join(root, `removed-${id}`, 'fs')).length).toBeGreaterThan(0);
    expect(await s.exists('doomed')).toBe(false);

    const reopened = new OverlaySnapshotter(root);
    snapshotters.push(reopened);
    await reopened.settled();
    expect(readdirSync(root).filter((n) => n.startsWith('removed-'))).toEqual([]);
    expect(readFileSync(join(reopened.upperDir('kept'), 'f'), 'utf8')).toBe('kept');
    expect((await reopened.list()).map((i) => i.key)).toEqual(['kept']);
  });

  it('lets two processes prepare and commit at the same time', async () => {
    const { root, snapshotter: s } = setup();
    const worker = join(import.meta.dirname, '../testdata/concurrent-worker.ts');
    const tsx = join(import.meta.dirname, '../../../node_modules/.bin/tsx');
    const results = await Promise.all(
      ['a', 'b'].map((prefix) => run(tsx, [worker, root, prefix, '25'], { cwd: join(import.meta.dirname, '../../..') })),
    );
    const won = results.flatMap((r) => JSON.parse(r.stdout) as string[]).sort();
    expect(won).toEqual(Array.from({ length: 25 }, (_, i) => `race-${i}`).sort());
    const keys = (await s.list()).map((i) => i.key);
    expect(keys).toHaveLength(75);
    expect(s.lowerDirs('race-0')).toEqual([]);
    expect(s.lowerDirs('a-24')).toHaveLength(24);
    expect(new Set(keys.map((k) => s.upperDir(k))).size).toBe(75);
    for (const key of keys) expect(existsSync(s.upperDir(key))).toBe(true);
  });
});

describe('OverlaySnapshotter with @berth/layers', () => {
  it('unpacks layers whose whiteouts and opaque dirs the kernel honours, and packs a container diff', async () => {
    const { snapshotter: s, mountpoint } = setup();
    const tar = async (entries: Array<{ name: string; content?: string; type?: 'directory' }>) => {
      return Readable.from(writeTar(entries.map((e) => (e.type ? { header: { name: e.name, type: e.type } } : { header: { name: e.name }, body: Buffer.from(e.content ?? '') }))));
    };
    await s.prepare('l1-unpack');
    await applyLayer(
      s.upperDir('l1-unpack'),
      await tar([{ name: 'etc/', type: 'directory' }, { name: 'etc/passwd', content: 'root' }, { name: 'opt/', type: 'directory' }, { name: 'opt/old', content: 'old' }]),
    );
    await s.commit('l1', 'l1-unpack');
    await s.prepare('l2-unpack', 'l1');
    await applyLayer(
      s.upperDir('l2-unpack'),
      await tar([{ name: 'etc/.wh.passwd' }, { name: 'opt/', type: 'directory' }, { name: 'opt/.wh..wh..opq' }, { name: 'opt/new', content: 'new' }]),
      { lowers: s.lowerDirs('l2-unpack') },
    );
    await s.commit('l2', 'l2-unpack');

    const target = mountpoint();
    await mountAll(await s.prepare('ctr', 'l2'), target);
    expect(readdirSync(join(target, 'etc'))).toEqual([]);
    expect(readdirSync(join(target, 'opt'))).toEqual(['new']);
    rmSync(join(target, 'opt/new'));
    writeFileSync(join(target, 'added'), 'a');
    await unmount(target);

    const { stream, diffId } = packDirectory(s.upperDir('ctr'), { upper: true });
    const names = (await readTarEntries(stream)).map((e) => e.header.name);
    expect(names).toEqual(['added', 'opt/', 'opt/.wh.new']);
    expect(await diffId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await listChanges(s.upperDir('ctr'), s.lowerDirs('ctr'))).toEqual([
      { kind: 'A', path: '/added' },
      { kind: 'C', path: '/opt' },
      { kind: 'D', path: '/opt/new' },
    ]);
  });
});

describe('mountAll', () => {
  it('undoes earlier mounts when a later one fails', async () => {
    const base = mkdtempSync(join(tmpdir(), 'berth-mount-'));
    dirs.push(base);
    mkdirSync(join(base, 'src'));
    mkdirSync(join(base, 'target'));
    targets.push(join(base, 'target'));
    const mounts: Mount[] = [
      { type: 'bind', source: join(base, 'src'), options: ['rbind', 'ro'] },
      { type: 'bind', source: join(base, 'missing'), target: 'sub', options: ['rbind'] },
    ];
    await expect(mountAll(mounts, join(base, 'target'))).rejects.toThrow(/^Cannot mount bind on ".*\/target\/sub": /);
    expect((await mountPoints()).some((m) => m.target.startsWith(base))).toBe(false);
  });
});
