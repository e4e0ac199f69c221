import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { ContentStore } from '@berth/content';
import { ConflictError, InvalidArgumentError, NotFoundError } from '@berth/errors';
import { readTarEntries, tarBuffer } from '@berth/layers';
import { openMetadataDb, type MetadataDb } from '@berth/metadata';
import { chainIds, MediaType, sha256 } from '@berth/oci';
import { OverlaySnapshotter } from '@berth/snapshots';
import { afterEach, describe, expect, it } from 'vitest';
import { type ImageEvent, imageRows, ImageStore } from './index.js';

type TarItem = { name: string; data?: string | Buffer; type?: 'file' | 'directory' | 'symlink'; linkname?: string; mode?: number };

async function makeTar(items: TarItem[]): Promise<Buffer> {
  return tarBuffer(
    items.map((item) => {
      const type = item.type ?? 'file';
      const header = { name: item.name, type, mode: item.mode ?? (type === 'directory' ? 0o755 : 0o644), mtime: 1_700_000_000 };
      return type === 'file' ? { header, body: Buffer.from(item.data ?? '') } : { header: { ...header, linkname: item.linkname ?? '' } };
    }),
  );
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function tarEntries(data: Buffer): Promise<Map<string, Buffer>> {
  return new Map((await readTarEntries(data)).map((e) => [e.header.name, e.body]));
}

interface Host {
  root: string;
  db: MetadataDb;
  content: ContentStore;
  snapshotter: OverlaySnapshotter;
  store: ImageStore;
  events: ImageEvent[];
  users: Map<string, string[]>;
}

describe('ImageStore', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        c();
      } catch {
        // keep cleaning
      }
    }
  });

  function host(root = mkdtempSync(join(tmpdir(), 'berth-images-')), held = new Set<string>()): Host {
    const db = openMetadataDb(join(root, 'metadata.db'));
    const content = new ContentStore(join(root, 'content'));
    const snapshotter = new OverlaySnapshotter(join(root, 'snapshots'));
    const events: ImageEvent[] = [];
    const users = new Map<string, string[]>();
    const store = new ImageStore({
      db,
      content,
      snapshotter,
      usedBy: (id) => users.get(id) ?? [],
      held: (r) => held.has(r.id),
      onEvent: (e) => events.push(e),
    });
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    cleanups.push(() => snapshotter.close());
    cleanups.push(() => db.close());
    return { root, db, content, snapshotter, store, events, users };
  }

  const rootfs = () =>
    makeTar([
      { name: 'etc', type: 'directory' },
      { name: 'etc/hello', data: 'hello world\n' },
      { name: 'bin', type: 'directory' },
      { name: 'bin/tool', data: '#!/bin/sh\necho tool\n', mode: 0o755 },
      { name: 'bin/alias', type: 'symlink', linkname: 'tool' },
    ]);

  it('imports a rootfs tar as a one-layer OCI image, like docker import', async () => {
    const h = host();
    const data = await rootfs();
    const record = await h.store.importTar(Readable.from([data]), { ref: 'test/app:1', changes: ['CMD ["/bin/tool"]', 'ENV A=b'] });

    expect(record.names).toEqual(['docker.io/test/app:1']);
    expect(record.id).toBe(record.manifest.config.digest);
    expect(record.manifest.mediaType).toBe(MediaType.OciManifest);
    expect(record.manifest.layers).toHaveLength(1);
    expect(record.manifest.layers[0]!.mediaType).toBe(MediaType.OciLayerGzip);
    expect(record.config.rootfs.diff_ids).toEqual([sha256(data)]);
    expect(record.config.history).toEqual([{ created: record.config.created, comment: 'Imported from -' }]);
    expect(record.config.config).toEqual({ Cmd: ['/bin/tool'], Env: ['A=b'] });
    expect(record.size).toBe(data.length);
    expect(await h.content.has(record.manifestDigest)).toBe(true);
    expect(h.events).toEqual([{ action: 'import', id: record.id, name: 'test/app:1' }]);

    const inspect = await h.store.inspect('test/app:1');
    expect(inspect).toMatchObject({
      Id: record.id,
      RepoTags: ['test/app:1'],
      RepoDigests: [],
      Parent: '',
      Comment: 'Imported from -',
      Author: '',
      Config: { Cmd: ['/bin/tool'], Env: ['A=b'] },
      Architecture: 'amd64',
      Os: 'linux',
      Size: data.length,
      RootFS: { Type: 'layers', Layers: [sha256(data)] },
    });
    expect(inspect.Created).toBe(record.config.created);
    expect(inspect.Metadata.LastTagTime).not.toBe('0001-01-01T00:00:00Z');

    // A gzip rootfs gives the same layer (diff ID of the uncompressed tar).
    const gzipped = await h.store.importTar(Readable.from([gzipSync(data)]), { ref: 'gz' });
    expect(gzipped.config.rootfs.diff_ids).toEqual([sha256(data)]);

    const untagged = await h.store.importTar(Readable.from([await makeTar([{ name: 'x', data: 'x' }])]), { message: 'from a test' });
    expect(untagged.names).toEqual([]);
    expect(untagged.config.history![0]!.comment).toBe('from a test');
  });

  it('registers an image it has again under a new name without writing its manifest again', async () => {
    const h = host();
    const record = await h.store.importTar(Readable.from([await rootfs()]), { ref: 'test/app:1' });
    const blob = h.content.path(record.manifestDigest);
    const before = lstatSync(blob).ino;
    const again = await h.store.putImage({ manifest: readFileSync(blob), names: ['test/app:2'], action: 'tag' });
    expect(again.id).toBe(record.id);
    expect(again.manifestDigest).toBe(record.manifestDigest);
    expect(again.names).toEqual(['docker.io/test/app:1', 'docker.io/test/app:2']);
    expect(lstatSync(blob).ino).toBe(before); // not replaced by a new file
    expect(h.events.at(-1)).toMatchObject({ action: 'tag', id: record.id, name: 'test/app:2' });
  });

  it('refuses to import an archive whose entries escape the root, and keeps nothing of it', async () => {
    const h = host();
    const evil = await makeTar([{ name: 'ok', data: 'fine' }, { name: 'a/../../escaped', data: 'pwned' }]);
    await expect(h.store.importTar(Readable.from([evil]), { ref: 'evil:1' })).rejects.toThrow('Layer entry "a/../../escaped" escapes the target directory');
    expect(await h.store.list({ all: true })).toEqual([]);
    const blobs = [];
    for await (const b of h.content.list()) blobs.push(b);
    expect(blobs).toEqual([]);
  });

  it('resolves names, digests and ids, and says which image is missing', async () => {
    const h = host();
    const record = await h.store.importTar(Readable.from([await rootfs()]), { ref: 'busybox' });
    const hex = record.id.slice(7);
    for (const ref of ['busybox', 'busybox:latest', 'docker.io/library/busybox:latest', record.id, hex, hex.slice(0, 12), `sha256:${hex.slice(0, 5)}`]) {
      expect((await h.store.resolve(ref)).id).toBe(record.id);
    }
    expect((await h.store.resolve(`busybox@${record.manifestDigest}`)).id).toBe(record.id);
    await expect(h.store.resolve('busybox:nope')).rejects.toThrow(new NotFoundError('No such image: busybox:nope', { code: 'NO_SUCH_IMAGE' }));
    await expect(h.store.resolve('Bad Name')).rejects.toThrow('No such image: Bad Name');
  });

  it('unpacks layers into committed snapshots named by chain ID, once, even with two unpackers', async () => {
    const h = host();
    const record = await h.store.importTar(Readable.from([await rootfs()]), { ref: 'app' });
    // A second store on the same roots, as another process would have.
    const other = new OverlaySnapshotter(join(h.root, 'snapshots'));
    cleanups.push(() => other.close());
    const second = new ImageStore({ db: h.db, content: h.content, snapshotter: other });

    const [a, b] = await Promise.all([h.store.unpack('app'), second.unpack('app')]);
    const [chain] = chainIds(record.config.rootfs.diff_ids);
    expect(a).toBe(chain);
    expect(b).toBe(chain);
    const snapshots = await h.snapshotter.list();
    expect(snapshots.map((s) => [s.key, s.kind])).toEqual([[chain, 'committed']]);
    const dir = h.snapshotter.upperDir(chain!);
    expect(readFileSync(join(dir, 'etc/hello'), 'utf8')).toBe('hello world\n');
    expect(lstatSync(join(dir, 'bin/alias')).isSymbolicLink()).toBe(true);
    expect(lstatSync(join(dir, 'bin/tool')).mode & 0o777).toBe(0o755);
    expect(await h.store.unpack(record.id)).toBe(chain);
  });

  it('commits a container upper dir as a new layer with --change applied', async () => {
    const h = host();
    const base = await h.store.importTar(Readable.from([await rootfs()]), { ref: 'base', changes: ['ENV PATH=/bin', 'CMD ["sh"]'] });
    const top = await h.store.unpack('base');
    await h.snapshotter.prepare('ctr1', top);
    const upper = h.snapshotter.upperDir('ctr1');
    mkdirSync(join(upper, 'srv'));
    writeFileSync(join(upper, 'srv/data.txt'), 'new data');
    mkdirSync(join(upper, 'etc'));
    execFileSync('mknod', [join(upper, 'etc/hello'), 'c', '0', '0']); // overlay whiteout: deleted

    const record = await h.store.commit({
      upperDir: upper,
      parent: 'base',
      config: { ...base.config.config, Cmd: ['sh', '-c', 'touch /srv/data.txt'] },
      ref: 'committed:v1',
      author: 'Ada <ada@example.com>',
      message: 'add data',
      changes: ['ENV MODE=prod', 'EXPOSE 8080', 'LABEL team=core', 'WORKDIR /srv', 'USER app', 'ENTRYPOINT /srv/run'],
    });
    expect(record.parent).toBe(base.id);
    expect(record.config.rootfs.diff_ids).toHaveLength(2);
    expect(record.config.rootfs.diff_ids[0]).toBe(base.config.rootfs.diff_ids[0]);
    expect(record.manifest.layers[0]).toEqual(base.manifest.layers[0]);
    expect(record.config.author).toBe('Ada <ada@example.com>');
    expect(record.config.config).toEqual({
      Env: ['PATH=/bin', 'MODE=prod'],
      Cmd: null,
      Entrypoint: ['/bin/sh', '-c', '/srv/run'],
      ExposedPorts: { '8080/tcp': {} },
      Labels: { team: 'core' },
      WorkingDir: '/srv',
      User: 'app',
    });
    expect(record.config.history).toHaveLength(2);
    expect(record.config.history![1]).toMatchObject({
      author: 'Ada <ada@example.com>',
      created_by: 'sh -c touch /srv/data.txt',
      comment: 'add data',
    });
    expect(h.events.at(-1)).toEqual({ action: 'tag', id: record.id, name: 'committed:v1' });

    const chain = await h.store.unpack('committed:v1');
    const dir = h.snapshotter.upperDir(chain!);
    expect(readFileSync(join(dir, 'srv/data.txt'), 'utf8')).toBe('new data');
    const whiteout = lstatSync(join(dir, 'etc/hello'));
    expect(whiteout.isCharacterDevice() && whiteout.rdev === 0).toBe(true);

    const history = await h.store.history('committed:v1');
    expect(history.map((e) => [e.Id, e.CreatedBy, e.Comment, e.Tags])).toEqual([
      [record.id, 'sh -c touch /srv/data.txt', 'add data', ['committed:v1']],
      ['<missing>', '', 'Imported from -', null],
    ]);
    expect(history[1]!.Size).toBe(base.size);
    expect(history[0]!.Size).toBe(record.size - base.size);
    await h.snapshotter.remove('ctr1');
  });

  it('saves an OCI layout with Docker manifest.json and loads it into another store with the same ids', async () => {
    const a = host();
    const one = await a.store.importTar(Readable.from([await rootfs()]), { ref: 'app:1' });
    await a.store.tag('app:1', 'app:2');
    await a.store.tag('app:1', 'localhost:5000/team/app:x');
    const other = await a.store.importTar(Readable.from([await makeTar([{ name: 'f', data: 'other' }])]), { ref: 'other' });

    const archive = await readAll(a.store.save(['app', 'other:latest']));
    const files = await tarEntries(archive);
    expect(JSON.parse(files.get('oci-layout')!.toString())).toEqual({ imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(files.get('index.json')!.toString());
    expect(index.manifests.map((m: { annotations: Record<string, string> }) => m.annotations)).toEqual([
      { 'io.containerd.image.name': 'docker.io/library/app:1', 'org.opencontainers.image.ref.name': '1' },
      { 'io.containerd.image.name': 'docker.io/library/app:2', 'org.opencontainers.image.ref.name': '2' },
      { 'io.containerd.image.name': 'docker.io/library/other:latest', 'org.opencontainers.image.ref.name': 'latest' },
    ]);
    const dockerManifest = JSON.parse(files.get('manifest.json')!.toString());
    expect(dockerManifest).toEqual([
      { Config: `blobs/sha256/${one.id.slice(7)}`, RepoTags: ['app:1', 'app:2'], Layers: [`blobs/sha256/${one.manifest.layers[0]!.digest.slice(7)}`] },
      { Config: `blobs/sha256/${other.id.slice(7)}`, RepoTags: ['other:latest'], Layers: [`blobs/sha256/${other.manifest.layers[0]!.digest.slice(7)}`] },
    ]);
    for (const path of [dockerManifest[0].Config, ...dockerManifest[0].Layers]) expect(files.has(path)).toBe(true);

    const b = host();
    const loaded = await b.store.load(Readable.from([gzipSync(archive)]));
    expect(loaded).toEqual([
      { id: one.id, name: 'app:1' },
      { id: one.id, name: 'app:2' },
      { id: other.id, name: 'other:latest' },
    ]);
    expect((await b.store.resolve('app:2')).manifestDigest).toBe(one.manifestDigest);
    expect(b.events.map((e) => e.action)).toEqual(['load', 'load', 'load']);
    const chain = await b.store.unpack('app:1');
    expect(readFileSync(join(b.snapshotter.upperDir(chain!), 'etc/hello'), 'utf8')).toBe('hello world\n');

    // By id: no names recorded.
    const byId = await tarEntries(await readAll(a.store.save([one.id.slice(7, 19)])));
    expect(JSON.parse(byId.get('manifest.json')!.toString())[0].RepoTags).toBeNull();
    await expect(readAll(a.store.save(['missing']))).rejects.toThrow('No such image: missing');
  });

  it.runIf(existsSync('/usr/bin/skopeo'))('writes archives skopeo reads, and loads what skopeo writes', async () => {
    const h = host();
    const image = await h.store.importTar(Readable.from([await rootfs()]), { ref: 'app:1', changes: ['CMD ["/bin/tool"]'] });
    const archive = join(h.root, 'saved.tar');
    writeFileSync(archive, await readAll(h.store.save(['app:1'])));
    const skopeo = (...args: string[]) => execFileSync('skopeo', ['--insecure-policy', ...args], { encoding: 'utf8' });
    // As an OCI layout (ref.name "1") and as a docker-archive (manifest.json): same config digest.
    expect(JSON.parse(skopeo('inspect', '--config', '--raw', `oci-archive:${archive}:1`)).config.Cmd).toEqual(['/bin/tool']);
    expect(JSON.parse(skopeo('inspect', `docker-archive:${archive}`)).Digest).toBeDefined();
    const dockerArchive = join(h.root, 'docker.tar');
    skopeo('copy', `oci-archive:${archive}:1`, `docker-archive:${dockerArchive}:skopeo/app:2`);

    const other = host();
    expect(await other.store.load(Readable.from([readFileSync(dockerArchive)]))).toEqual([{ id: image.id, name: 'skopeo/app:2' }]);
    const chain = await other.store.unpack('skopeo/app:2');
    expect(readFileSync(join(other.snapshotter.upperDir(chain!), 'etc/hello'), 'utf8')).toBe('hello world\n');
  });

  it('loads a classic docker save tar (manifest.json, <id>.json, <id>/layer.tar)', async () => {
    const layer = await rootfs();
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        created: '2024-01-02T03:04:05Z',
        config: { Cmd: ['/bin/tool'] },
        rootfs: { type: 'layers', diff_ids: [sha256(layer)] },
        history: [{ created: '2024-01-02T03:04:05Z', created_by: 'ADD rootfs' }],
      }),
    );
    const configHex = sha256(config).slice(7);
    const archive = await makeTar([
      { name: `${configHex}.json`, data: config.toString() },
      { name: 'abc123', type: 'directory' },
      { name: 'abc123/VERSION', data: '1.0' },
      { name: 'abc123/layer.tar', data: layer },
      { name: 'manifest.json', data: JSON.stringify([{ Config: `${configHex}.json`, RepoTags: ['old:1'], Layers: ['abc123/layer.tar'] }]) },
      { name: 'repositories', data: '{}' },
    ]);
    // The layer is a tar inside the tar: make sure its bytes survived.
    expect((await tarEntries(archive)).get('abc123/layer.tar')).toEqual(layer);

    const h = host();
    expect(await h.store.load(Readable.from([archive]))).toEqual([{ id: `sha256:${configHex}`, name: 'old:1' }]);
    const record = await h.store.resolve('old:1');
    expect(record.manifest.layers[0]).toEqual({ mediaType: MediaType.OciLayer, digest: sha256(layer), size: layer.length });
    const chain = await h.store.unpack('old:1');
    expect(readFileSync(join(h.snapshotter.upperDir(chain!), 'bin/tool'), 'utf8')).toContain('echo tool');

    await expect(h.store.load(Readable.from([Buffer.from('not a tar at all'.repeat(64))]))).rejects.toThrow(/^Cannot load: the archive/);
    await expect(h.store.load(Readable.from([await makeTar([{ name: 'x.json', data: '{}' }])]))).rejects.toThrow(
      new InvalidArgumentError('Cannot load: the archive has neither index.json (OCI layout) nor manifest.json (docker save)'),
    );
  });

  it('untags while names remain and deletes with the last, keeping shared layers', async () => {
    const h = host();
    const base = await h.store.importTar(Readable.from([await rootfs()]), { ref: 'a:1' });
    await h.store.tag('a:1', 'a:2');
    // b shares a's layer (no parent relation): built from a's layer plus one more.
    const extra = await h.store.importTar(Readable.from([await makeTar([{ name: 'extra', data: 'x' }])]));
    const b = await h.store.writeImage({
      config: { ...base.config, rootfs: { type: 'layers', diff_ids: [...base.config.rootfs.diff_ids, ...extra.config.rootfs.diff_ids] }, history: undefined },
      layers: [...base.manifest.layers, ...extra.manifest.layers],
      names: ['b'],
    });
    await h.store.remove(extra.id);
    await h.store.unpack('a:1');
    await h.store.unpack('b');
    const chains = chainIds(b.config.rootfs.diff_ids);

    expect(await h.store.remove('a:1')).toEqual([{ Untagged: 'a:1' }]);
    expect((await h.store.resolve('a:2')).id).toBe(base.id);
    expect(await h.store.remove('a:2')).toEqual([{ Untagged: 'a:2' }, { Deleted: base.id }]);
    await expect(h.store.resolve(base.id)).rejects.toBeInstanceOf(NotFoundError);
    expect(await h.content.has(base.manifestDigest)).toBe(false);
    expect(await h.content.has(base.manifest.layers[0]!.digest)).toBe(true); // b uses it
    expect(await h.snapshotter.exists(chains[0]!)).toBe(true);

    expect(await h.store.remove('b')).toEqual([{ Untagged: 'b:latest' }, { Deleted: b.id }, { Deleted: chains[1] }, { Deleted: chains[0] }]);
    expect(await h.snapshotter.list()).toEqual([]);
    const left = [];
    for await (const blob of h.content.list()) left.push(blob);
    expect(left).toEqual([]);
    expect(h.events.filter((e) => e.action === 'untag' || e.action === 'delete').map((e) => e.action)).toEqual([
      'delete', 'untag', 'untag', 'delete', 'untag', 'delete',
    ]);
  });

  it('leaves the blobs and snapshots a lease holds when it removes or prunes an image', async () => {
    const held = new Set<string>();
    const h = host(undefined, held);
    const image = await h.store.importTar(Readable.from([await rootfs()]), { ref: 'built:1' });
    const chain = (await h.store.unpack(image.id))!;
    const layer = image.manifest.layers[0]!.digest;
    held.add(layer).add(chain); // a build stacks on this layer
    expect(await h.store.remove('built:1')).toEqual([{ Untagged: 'built:1' }, { Deleted: image.id }]);
    expect(await h.content.has(layer)).toBe(true);
    expect(await h.snapshotter.exists(chain)).toBe(true);
    expect(await h.content.has(image.manifestDigest)).toBe(false); // what no lease holds goes

    const again = await h.store.importTar(Readable.from([await rootfs()])); // dangling, same layer
    expect(again.manifest.layers[0]!.digest).toBe(layer);
    const pruned = await h.store.prune();
    expect(pruned).toEqual({ ImagesDeleted: [{ Deleted: again.id }], SpaceReclaimed: 0 });
    expect(await h.content.has(layer)).toBe(true);
  });

  it('refuses to remove an image a container uses unless forced, with Docker wording', async () => {
    const h = host();
    const image = await h.store.importTar(Readable.from([await rootfs()]), { ref: 'busybox' });
    const container = '1a2b3c4d5e6f7a8b9c0d';
    h.users.set(image.id, [container]);
    const short = image.id.slice(7, 19);

    await expect(h.store.remove('busybox')).rejects.toThrow(
      new ConflictError(
        `conflict: unable to remove repository reference "busybox" (must force) - container 1a2b3c4d5e6f is using its referenced image ${short}`,
      ),
    );
    await expect(h.store.remove(short)).rejects.toThrow(
      `conflict: unable to delete ${short} (must be forced) - image is being used by stopped container 1a2b3c4d5e6f`,
    );
    // With a second name, untagging one is fine.
    await h.store.tag('busybox', 'mine:1');
    expect(await h.store.remove('mine:1')).toEqual([{ Untagged: 'mine:1' }]);
    // Forced: the name goes, the image stays (dangling) for the container.
    expect(await h.store.remove('busybox', { force: true })).toEqual([{ Untagged: 'busybox:latest' }]);
    expect((await h.store.resolve(image.id)).names).toEqual([]);
    expect((await h.store.prune()).ImagesDeleted).toEqual([]);
    h.users.clear();
    expect(await h.store.prune()).toEqual({ ImagesDeleted: [{ Deleted: image.id }], SpaceReclaimed: image.size });
  });

  it('refuses to remove by id an image named in several repositories unless forced', async () => {
    const h = host();
    const image = await h.store.importTar(Readable.from([await rootfs()]), { ref: 'one:1' });
    await h.store.tag('one:1', 'two:1');
    const short = image.id.slice(7, 19);
    await expect(h.store.remove(short)).rejects.toThrow(
      `conflict: unable to delete ${short} (must be forced) - image is referenced in multiple repositories`,
    );
    expect(await h.store.remove(short, { force: true })).toEqual([{ Untagged: 'one:1' }, { Untagged: 'two:1' }, { Deleted: image.id }]);

    // One repository, two tags: by id needs no force... only when there is a single tag.
    const single = await h.store.importTar(Readable.from([await rootfs()]), { ref: 'solo:1' });
    expect(await h.store.remove(single.id)).toEqual([{ Untagged: 'solo:1' }, { Deleted: single.id }]);
  });

  it('keeps a parent image while a child image depends on it', async () => {
    const h = host();
    const base = await h.store.importTar(Readable.from([await rootfs()]), { ref: 'base' });
    const empty = mkdtempSync(join(tmpdir(), 'berth-upper-'));
    cleanups.push(() => rmSync(empty, { recursive: true, force: true }));
    const child = await h.store.commit({ upperDir: empty, parent: 'base', ref: 'child' });
    await expect(h.store.remove(base.id)).rejects.toThrow(
      `conflict: unable to delete ${base.id.slice(7, 19)} (cannot be forced) - image has dependent child images`,
    );
    expect(await h.store.remove('base')).toEqual([{ Untagged: 'base:latest' }]);
    // Now an intermediate image: hidden from the default list, shown with all.
    expect((await h.store.list()).map((s) => s.Id)).toEqual([child.id]);
    expect((await h.store.list({ all: true })).map((s) => s.Id).sort()).toEqual([base.id, child.id].sort());
    // Removing the child frees the parent for prune.
    await h.store.remove('child');
    expect((await h.store.prune()).ImagesDeleted).toEqual([{ Deleted: base.id }]);
  });

  it('prunes dangling images, or every unused image with all', async () => {
    const h = host();
    const dangling = await h.store.importTar(Readable.from([await makeTar([{ name: 'd', data: 'd' }])]));
    const tagged = await h.store.importTar(Readable.from([await makeTar([{ name: 't', data: 't' }])]), { ref: 'keep' });
    const used = await h.store.importTar(Readable.from([await makeTar([{ name: 'u', data: 'u' }])]), { ref: 'used' });
    h.users.set(used.id, ['c1']);
    const first = await h.store.prune();
    expect(first.ImagesDeleted).toEqual([{ Deleted: dangling.id }]);
    expect(first.SpaceReclaimed).toBe(dangling.size);
    const second = await h.store.prune({ all: true });
    expect(second.ImagesDeleted).toEqual([{ Untagged: 'keep:latest' }, { Deleted: tagged.id }]);
    expect((await h.store.list()).map((s) => s.RepoTags)).toEqual([['used:latest']]);
  });

  it('lists images with Docker filters and rows', async () => {
    const h = host();
    const created = (s: number) => new Date(Date.UTC(2024, 0, 1, 0, 0, s));
    const a = await h.store.importTar(Readable.from([await makeTar([{ name: 'a', data: 'a' }])]), { ref: 'alpha:1', created: created(1), changes: ['LABEL tier=web'] });
    const b = await h.store.importTar(Readable.from([await makeTar([{ name: 'b', data: 'b' }])]), { ref: 'beta:1', created: created(2), changes: ['LABEL tier=db'] });
    const c = await h.store.importTar(Readable.from([await makeTar([{ name: 'c', data: 'c' }])]), { created: created(3) });
    await h.store.tag('alpha:1', 'alpha:2');
    const ids = async (filters: Record<string, string[]>) => (await h.store.list({ filters })).map((s) => s.Id);

    const all = await h.store.list();
    expect(all.map((s) => s.Id)).toEqual([c.id, b.id, a.id]);
    expect(all[2]).toEqual({
      Id: a.id,
      ParentId: '',
      RepoTags: ['alpha:1', 'alpha:2'],
      RepoDigests: [],
      Created: Math.floor(created(1).getTime() / 1000),
      Size: a.size,
      SharedSize: -1,
      Labels: { tier: 'web' },
      Containers: 0,
    });
    expect(await ids({ dangling: ['true'] })).toEqual([c.id]);
    expect(await ids({ dangling: ['false'] })).toEqual([b.id, a.id]);
    expect(await ids({ reference: ['al*'] })).toEqual([a.id]);
    expect((await h.store.list({ filters: { reference: ['alpha:2'] } }))[0]!.RepoTags).toEqual(['alpha:2']);
    expect(await ids({ label: ['tier'] })).toEqual([b.id, a.id]);
    expect(await ids({ label: ['tier=db'] })).toEqual([b.id]);
    expect(await ids({ before: ['beta:1'] })).toEqual([a.id]);
    expect(await ids({ since: ['alpha:1'] })).toEqual([c.id, b.id]);
    await expect(h.store.list({ filters: { bogus: ['1'] } })).rejects.toThrow("invalid filter 'bogus'");

    expect(imageRows(all).map((r) => [r.Repository, r.Tag, r.ID])).toEqual([
      ['<none>', '<none>', c.id.slice(7, 19)],
      ['beta', '1', b.id.slice(7, 19)],
      ['alpha', '1', a.id.slice(7, 19)],
      ['alpha', '2', a.id.slice(7, 19)],
    ]);
  });

  it('reports disk usage with shared layers counted once', async () => {
    const h = host();
    const base = await h.store.importTar(Readable.from([await rootfs()]), { ref: 'base' });
    const empty = mkdtempSync(join(tmpdir(), 'berth-upper-'));
    cleanups.push(() => rmSync(empty, { recursive: true, force: true }));
    writeFileSync(join(empty, 'new'), 'new');
    const child = await h.store.commit({ upperDir: empty, parent: 'base', ref: 'child' });
    const childLayer = child.size - base.size;
    h.users.set(child.id, ['c1']);
    const df = await h.store.df();
    expect(df).toMatchObject({ count: 2, active: 1, size: child.size, reclaimable: 0 });
    expect(df.images.find((i) => i.id === base.id)).toEqual({ id: base.id, size: base.size, sharedSize: base.size, containers: 0 });
    h.users.clear();
    expect((await h.store.df()).reclaimable).toBe(base.size + childLayer);
  });

  it('refuses to tag with a digest and moves an existing tag', async () => {
    const h = host();
    const one = await h.store.importTar(Readable.from([await makeTar([{ name: '1', data: '1' }])]), { ref: 'app' });
    const two = await h.store.importTar(Readable.from([await makeTar([{ name: '2', data: '2' }])]));
    await expect(h.store.tag(two.id, `app@${one.manifestDigest}`)).rejects.toThrow('refusing to create a tag with a digest reference');
    await expect(h.store.tag(two.id, 'App')).rejects.toThrow('invalid reference format: repository name (library/App) must be lowercase');
    await h.store.tag(two.id, 'app');
    expect((await h.store.resolve('app')).id).toBe(two.id);
    expect((await h.store.resolve(one.id)).names).toEqual([]);
    expect(h.events.at(-1)).toEqual({ action: 'tag', id: two.id, name: 'app:latest' });
  });

  it('leaves no extract snapshot behind when a layer does not match its diff ID', async () => {
    const h = host();
    const good = await h.store.importTar(Readable.from([await rootfs()]), { ref: 'good' });
    const bad = await h.store.writeImage({
      config: { ...good.config, rootfs: { type: 'layers', diff_ids: [sha256('not this layer')] } },
      layers: good.manifest.layers,
      layerSizes: new Map([[sha256('not this layer'), 1]]),
      names: ['bad'],
    });
    await expect(h.store.unpack('bad')).rejects.toThrow(
      `Cannot unpack image ${bad.id.slice(7, 19)}: layer 0 has diff ID "${good.config.rootfs.diff_ids[0]}", the config says "${sha256('not this layer')}"`,
    );
    expect(await h.snapshotter.list()).toEqual([]);
    expect(readdirSync(join(h.root, 'snapshots')).filter((n) => /^\d+$/.test(n))).toEqual([]);
    // Without a known size, adding such an image is refused up front.
    await expect(
      h.store.writeImage({ config: { ...good.config, rootfs: { type: 'layers', diff_ids: [sha256('other')] } }, layers: good.manifest.layers }),
    ).rejects.toThrow(`Invalid image: layer 0 ("${good.manifest.layers[0]!.digest}") has diff ID "${good.config.rootfs.diff_ids[0]}", the config says "${sha256('other')}"`);
  });
});
