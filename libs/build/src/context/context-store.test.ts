import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FailedPreconditionError } from '@berth/errors';
import { type ContextFile, listContext, packFiles } from '@berth/filesync';
import { tempDir, type TempDir } from '@berth/testing';
import { type ContextSync, ContextStore } from './context-store.js';
import { checksumEntries, resolveSources } from './copy-files.js';
import { indexReader } from './index-reader.js';

let dir: TempDir;
let client: string;
let store: ContextStore;

beforeEach(async () => {
  dir = tempDir('berth-context-store-');
  client = join(dir.path, 'client');
  store = new ContextStore(join(dir.path, 'contexts'));
  await mkdir(join(client, 'src', 'deep'), { recursive: true });
  await writeFile(join(client, 'src', 'a.txt'), 'a\n');
  await writeFile(join(client, 'src', 'deep', 'b.txt'), 'b\n');
  await writeFile(join(client, 'Dockerfile'), 'FROM scratch\n');
  await symlink('src/a.txt', join(client, 'link'));
});

afterEach(() => dir.remove());

/** The client side: its listing, and a tar of what is asked for; records the paths asked. */
async function client_(key = 'ctx'): Promise<{ sync: ContextSync; files: ContextFile[]; asked: string[][] }> {
  const files = await listContext(client);
  const asked: string[][] = [];
  return {
    asked,
    files,
    sync: {
      key,
      files,
      fetch: (paths) => {
        asked.push(paths);
        const wanted = new Set(paths);
        // As the CLI: nothing at all when nothing is asked.
        return paths.length === 0 ? (async function* () {})() : packFiles(client, files.filter((f: ContextFile) => wanted.has(f.path)));
      },
    },
  };
}

describe('ContextStore', () => {
  it('asks for everything once, then only for what changed, and removes what went', async () => {
    let c = await client_();
    let synced = await store.sync(c.sync);
    expect(c.asked).toEqual([['Dockerfile', 'link', 'src/a.txt', 'src/deep/b.txt']]);
    expect(await readFile(join(synced.dir, 'src', 'deep', 'b.txt'), 'utf8')).toBe('b\n');
    expect(synced.sent).toBe(4);
    await synced.release();

    c = await client_();
    synced = await store.sync(c.sync);
    expect(c.asked).toEqual([[]]);
    expect(synced.received).toBe(0);
    await synced.release();

    await writeFile(join(client, 'src', 'a.txt'), 'changed\n');
    await utimes(join(client, 'src', 'a.txt'), new Date(), new Date(Date.now() + 5000));
    await rm(join(client, 'src', 'deep'), { recursive: true });
    c = await client_();
    synced = await store.sync(c.sync);
    expect(c.asked).toEqual([['src/a.txt']]);
    expect(await readFile(join(synced.dir, 'src', 'a.txt'), 'utf8')).toBe('changed\n');
    expect(existsSync(join(synced.dir, 'src', 'deep'))).toBe(false);
    expect(synced.index.get('src/a.txt')?.digest).toBe(`sha256:${createHash('sha256').update('changed\n').digest('hex')}`);
    await synced.release();
  });

  it('keeps the index file of an unchanged context, and trusts no index of a build that never released', async () => {
    const indexFile = join(dir.path, 'contexts', createHash('sha256').update('ctx').digest('hex'), 'index.json');
    let c = await client_();
    await (await store.sync(c.sync)).release();
    const written = (await stat(indexFile)).mtimeMs;

    c = await client_();
    const unchanged = await store.sync(c.sync);
    expect(existsSync(indexFile)).toBe(false); // set aside while the build holds the context
    await unchanged.release();
    expect((await stat(indexFile)).mtimeMs).toBe(written); // the same file back, not written again

    // A build that dies holding the context (no release): the next store starts over with everything.
    c = await client_();
    await store.sync(c.sync);
    const restarted = new ContextStore(join(dir.path, 'contexts'));
    c = await client_();
    await (await restarted.sync(c.sync)).release();
    expect(c.asked).toEqual([['Dockerfile', 'link', 'src/a.txt', 'src/deep/b.txt']]);

    // The index kept in memory counts only while its file is there.
    await rm(indexFile);
    c = await client_();
    await (await restarted.sync(c.sync)).release();
    expect(c.asked).toEqual([['Dockerfile', 'link', 'src/a.txt', 'src/deep/b.txt']]);
  });

  it('checksums a synced tree from its index exactly as from the disk', async () => {
    const c = await client_();
    const synced = await store.sync(c.sync);
    for (const sources of [['.'], ['src'], ['src/*.txt', 'link']]) {
      const entries = await resolveSources(synced.dir, sources, { context: true });
      const fromDisk = await checksumEntries(entries, { withOwner: false });
      const fromIndex = await checksumEntries(entries, { withOwner: false, reader: indexReader(synced.dir, synced.index) });
      expect(fromIndex).toBe(fromDisk);
    }
    await synced.release();
  });

  it('keeps the checksums of a tree while it does not change, and drops them when it does', async () => {
    const checksum = async (synced: Awaited<ReturnType<ContextStore['sync']>>) =>
      checksumEntries(await resolveSources(synced.dir, ['src'], { context: true }), { withOwner: false, reader: indexReader(synced.dir, synced.index, synced.checksums) });
    let synced = await store.sync((await client_()).sync);
    const first = await checksum(synced);
    expect([...synced.checksums.values()]).toEqual([first]);
    await synced.release();

    // Unchanged: the next build finds the checksum made, even with a wrong index it would not read.
    synced = await store.sync((await client_()).sync);
    expect([...synced.checksums.values()]).toEqual([first]);
    const entry = synced.index.get('src/a.txt')!;
    const digest = entry.digest;
    entry.digest = 'sha256:not-read';
    expect(await checksum(synced)).toBe(first);
    entry.digest = digest;
    await synced.release();

    // A file changed: no checksum is kept, and the new one differs.
    await writeFile(join(client, 'src', 'a.txt'), 'changed\n');
    await utimes(join(client, 'src', 'a.txt'), new Date(), new Date(Date.now() + 5_000));
    synced = await store.sync((await client_()).sync);
    expect(synced.checksums.size).toBe(0);
    const second = await checksum(synced);
    expect(second).not.toBe(first);
    expect(second).toBe(await checksumEntries(await resolveSources(synced.dir, ['src'], { context: true }), { withOwner: false }));
    await synced.release();

    // Removed by the .dockerignore during the build: dropped too.
    synced = await store.sync((await client_()).sync);
    expect(synced.checksums.size).toBe(1);
    synced.forget(['src/deep']);
    expect(synced.checksums.size).toBe(0);
    await synced.release();
  });

  it('keeps only what it asked for, and fails when an asked file does not come', async () => {
    const first = await client_();
    const files = first.files;
    // A client that sends everything whatever is asked: the extra files are dropped.
    const greedy: ContextSync = { key: 'greedy', files: files.filter((f) => f.path !== 'link'), fetch: () => packFiles(client, files) };
    const synced = await store.sync(greedy);
    expect(existsSync(join(synced.dir, 'link'))).toBe(false);
    await synced.release();

    const stingy: ContextSync = { key: 'stingy', files, fetch: () => packFiles(client, files.filter((f) => f.path !== 'src/a.txt')) };
    const err = await store.sync(stingy).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect((err as Error).message).toBe('The client did not send "src/a.txt" of the context (it may have changed during the build)');
    // Not left locked, and not trusted next time: everything is asked again.
    const again = await client_('stingy');
    await (await store.sync(again.sync)).release();
    expect(again.asked[0]).toContain('src/a.txt');
  });

  it('asks again for what the build removed (ignored files), and lets builds of one context take turns', async () => {
    let c = await client_();
    const synced = await store.sync(c.sync);
    await rm(join(synced.dir, 'Dockerfile'));
    synced.forget(['Dockerfile']);
    const second = client_();
    let entered = false;
    const waiting = second.then(async (s) => {
      const next = await store.sync(s.sync);
      entered = true;
      return { next, s };
    });
    await new Promise((r) => setTimeout(r, 50)); // the second build would have entered by now if it could
    expect(entered).toBe(false);
    await synced.release();
    const { next, s } = await waiting;
    expect(s.asked).toEqual([['Dockerfile']]);
    await next.release();
    c = await client_();
    await (await store.sync(c.sync)).release();
    expect(c.asked).toEqual([[]]);
  });

  it('takes a listing still on its way, and fails without holding the context when it never comes', async () => {
    const c = await client_();
    let deliver!: (files: ContextFile[]) => void;
    const late: ContextSync = { ...c.sync, files: new Promise<ContextFile[]>((r) => (deliver = r)) };
    const syncing = store.sync(late);
    deliver(c.files);
    const synced = await syncing;
    expect(c.asked).toEqual([c.files.filter((f) => f.type !== 'dir').map((f) => f.path)]);
    await synced.release();

    const refused = Promise.reject(new FailedPreconditionError('A synced build must list its context right after its options'));
    const err = await store.sync({ ...c.sync, files: refused }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('A synced build must list its context right after its options');
    const again = await client_();
    await (await store.sync(again.sync)).release(); // not left locked
    expect(again.asked).toEqual([[]]);
  });
});
