/**
 * RegistryTransfer in process: two hosts' image stores (temp dirs) and Berth's registry as a real
 * process. The CLI path through the platform is covered by test/registry.e2e.test.ts.
 */
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentStore } from '@berth/content';
import { ImageStore } from '@berth/images';
import { writeTar } from '@berth/layers';
import { openMetadataDb, type MetadataDb } from '@berth/metadata';
import type { TransferProgress } from '@berth/proto';
import { OverlaySnapshotter } from '@berth/snapshots';
import { startRegistryProcess, tempDir, type RegistryProcess, type TempDir } from '@berth/testing';
import { RegistryTransfer, serverDomain } from './registry-transfer.js';

interface Host {
  images: ImageStore;
  transfer: RegistryTransfer;
  pushed: Array<{ id: string; name: string }>;
  pulled: string[];
  db: MetadataDb;
}

let dir: TempDir;
let registry: RegistryProcess;
let host: string;
let a: Host;
let b: Host;

function openHost(name: string): Host {
  const root = join(dir.path, name);
  const db = openMetadataDb(join(root, 'metadata.db'));
  const content = new ContentStore(join(root, 'content'));
  const pulled: string[] = [];
  const images = new ImageStore({
    db,
    content,
    snapshotter: new OverlaySnapshotter(join(root, 'snapshots')),
    onEvent: (e) => e.action === 'pull' && pulled.push(e.name ?? e.id),
  });
  const pushed: Host['pushed'] = [];
  return { images, db, pushed, pulled, transfer: new RegistryTransfer({ images, content, onPush: (e) => pushed.push(e) }) };
}

async function rootfs(file: string, text: string): Promise<Readable> {
  return Readable.from(writeTar([{ header: { name: file, mtime: 1_700_000_000 }, body: Buffer.from(text) }]));
}

async function collect(stream: AsyncIterable<TransferProgress>): Promise<TransferProgress[]> {
  const out: TransferProgress[] = [];
  for await (const m of stream) out.push(m);
  return out;
}

const lines = (messages: TransferProgress[]) => messages.filter((m) => m.status !== 'Pushing' && m.status !== 'Downloading').map((m) => (m.id ? `${m.id}: ${m.status}` : m.status));

beforeAll(async () => {
  dir = tempDir('berth-transfer-');
  registry = await startRegistryProcess(['--listen', '127.0.0.1:0', '--root', join(dir.path, 'registry'), '--log-level', 'silent']);
  host = `127.0.0.1:${registry.port}`;
  a = openHost('a');
  b = openHost('b');
  await a.images.importTar(await rootfs('one.txt', 'one'), { ref: `${host}/app/web:1`, created: new Date(0) });
  await a.images.importTar(await rootfs('two.txt', 'two'), { ref: `${host}/app/web:2`, created: new Date(0) });
});

afterAll(async () => {
  await registry?.stop('SIGKILL');
  a?.db.close();
  b?.db.close();
  dir?.remove();
});

describe('RegistryTransfer', () => {
  it('pushes every local tag of a repository with --all-tags', async () => {
    const messages = await collect(a.transfer.push({ ref: `${host}/app/web`, allTags: true, registryAuth: undefined }));
    const text = lines(messages);
    expect(text[0]).toBe(`The push refers to repository [${host}/app/web]`);
    const finals = messages.filter((m) => m.digest !== '');
    expect(finals.map((m) => m.ref)).toEqual([`${host}/app/web:1`, `${host}/app/web:2`]);
    for (const m of finals) expect(m.status).toBe(`${m.ref.split(':').at(-1)}: digest: ${m.digest} size: ${m.size}`);
    expect(text.filter((l) => l.endsWith(': Pushed'))).toHaveLength(2);
    expect(a.pushed.map((e) => e.name)).toEqual([`${host}/app/web:1`, `${host}/app/web:2`]);
  });

  it('mounts blobs from another repository of the same registry that has them', async () => {
    await a.images.tag(`${host}/app/web:1`, `${host}/other/web:1`);
    const text = lines(await collect(a.transfer.push({ ref: `${host}/other/web:1`, allTags: false, registryAuth: undefined })));
    expect(text).toContainEqual(expect.stringMatching(/^[0-9a-f]{12}: Mounted from app\/web$/));
  });

  it('pulls every tag into another store, then finds them up to date', async () => {
    const messages = await collect(b.transfer.pull({ ref: `${host}/app/web`, allTags: true, platform: '', registryAuth: undefined }));
    const text = lines(messages);
    expect(text[0]).toBe('1: Pulling from app/web');
    expect(text).toContain('2: Pulling from app/web');
    expect(text.at(-1)).toBe(`Status: Downloaded newer image for ${host}/app/web`);
    const one = await b.images.resolve(`${host}/app/web:1`);
    expect(one.id).toBe((await a.images.resolve(`${host}/app/web:1`)).id);
    expect(b.pulled).toEqual([`${host}/app/web:1`, `${host}/app/web:2`]);

    const again = await collect(b.transfer.pull({ ref: `${host}/app/web:2`, allTags: false, platform: '', registryAuth: undefined }));
    const last = again.at(-1)!;
    expect(last).toMatchObject({ status: `Status: Image is up to date for ${host}/app/web:2`, ref: `${host}/app/web:2` });
    expect(last.imageId).toBe((await b.images.resolve(`${host}/app/web:2`)).id);
    expect(lines(again)).toContainEqual(expect.stringMatching(/^[0-9a-f]{12}: Already exists$/));
  });

  it('refuses what docker refuses', async () => {
    await expect(collect(a.transfer.push({ ref: `${host}/app/web@sha256:${'a'.repeat(64)}`, allTags: false, registryAuth: undefined }))).rejects.toThrow(
      `Cannot push "${host}/app/web@sha256:${'a'.repeat(64)}": push a tag, not a digest reference`,
    );
    await expect(collect(a.transfer.pull({ ref: `${host}/app/web:1`, allTags: true, platform: '', registryAuth: undefined }))).rejects.toThrow(
      "tag can't be used with --all-tags/-a",
    );
    await expect(collect(b.transfer.push({ ref: `${host}/app/none:1`, allTags: false, registryAuth: undefined }))).rejects.toMatchObject({
      kind: 'not-found',
      message: `An image does not exist locally with the tag: ${host}/app/none`,
    });
  });

  it('normalizes login servers as docker does', () => {
    expect(serverDomain('')).toBe('docker.io');
    expect(serverDomain('https://index.docker.io/v1/')).toBe('docker.io');
    expect(serverDomain('http://localhost:5000/v2/')).toBe('localhost:5000');
    expect(serverDomain('registry.example.com')).toBe('registry.example.com');
  });
});
