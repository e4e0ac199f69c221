import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { InvalidArgumentError, NotFoundError } from '@berth/errors';
import { sha256 } from '@berth/oci';
import { afterEach, describe, expect, it } from 'vitest';
import { ContentStore } from './index.js';

describe('ContentStore', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
  const open = () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-content-'));
    dirs.push(dir);
    return new ContentStore(dir);
  };
  const ingestFiles = (store: ContentStore) => readdirSync(join(store.root, 'ingest'));
  const all = async (store: ContentStore) => {
    const out = [];
    for await (const b of store.list()) out.push(b);
    return out;
  };

  it('stores a blob under its digest and reads it back every way', async () => {
    const store = open();
    const data = Buffer.from('{"hello":"world"}');
    const info = await store.ingest(Readable.from([data.subarray(0, 5), data.subarray(5)]));
    expect(info).toEqual({ digest: sha256(data), size: data.length });
    expect(store.path(info.digest)).toBe(join(store.root, 'blobs', 'sha256', sha256(data).slice(7)));
    expect(await store.has(info.digest)).toBe(true);
    expect(await store.info(info.digest)).toEqual(info);
    expect(await store.read(info.digest)).toEqual(data);
    expect(await store.readJson(info.digest)).toEqual({ hello: 'world' });
    const streamed: Buffer[] = [];
    for await (const c of store.createReadStream(info.digest)) streamed.push(c);
    expect(Buffer.concat(streamed)).toEqual(data);
    expect(await all(store)).toEqual([info]);
    expect(ingestFiles(store)).toEqual([]);
  });

  it('accepts buffers and async iterables, with expected digest and size', async () => {
    const store = open();
    async function* gen() {
      yield new Uint8Array([1, 2]);
      yield new Uint8Array([3]);
    }
    const d = sha256(Buffer.from([1, 2, 3]));
    expect(await store.ingest(gen(), { expected: d, size: 3 })).toEqual({ digest: d, size: 3 });
    expect(await store.ingest(Buffer.from([1, 2, 3]), { expected: d })).toEqual({ digest: d, size: 3 });
  });

  it('leaves nothing behind on a digest mismatch', async () => {
    const store = open();
    const wrong = sha256('something else');
    await expect(store.ingest(Buffer.from('data'), { expected: wrong })).rejects.toThrow(
      new InvalidArgumentError(`Cannot store blob: content has digest "${sha256('data')}", expected "${wrong}"`),
    );
    expect(await store.has(wrong)).toBe(false);
    expect(await store.has(sha256('data'))).toBe(false);
    expect(await all(store)).toEqual([]);
    expect(ingestFiles(store)).toEqual([]);
  });

  it('refuses content shorter or longer than announced, leaving nothing', async () => {
    const store = open();
    const d = sha256('data');
    await expect(store.ingest(Buffer.from('data'), { expected: d, size: 5 })).rejects.toThrow(
      `Cannot store blob "${d}": got 4 bytes, expected 5`,
    );
    await expect(store.ingest(Readable.from([Buffer.from('da'), Buffer.from('ta')]), { size: 3 })).rejects.toThrow(
      'Cannot store blob: got more than the expected 3 bytes',
    );
    expect(await all(store)).toEqual([]);
    expect(ingestFiles(store)).toEqual([]);
  });

  it('survives concurrent ingests of the same blob', async () => {
    const store = open();
    const data = Buffer.alloc(3 * 1024 * 1024, 7);
    const digest = sha256(data);
    const slow = () => Readable.from((function* () {
      for (let i = 0; i < data.length; i += 65536) yield data.subarray(i, i + 65536);
    })());
    const results = await Promise.all(Array.from({ length: 5 }, () => store.ingest(slow(), { expected: digest })));
    expect(results.every((r) => r.digest === digest && r.size === data.length)).toBe(true);
    expect(sha256(await store.read(digest))).toBe(digest);
    expect(await all(store)).toEqual([{ digest, size: data.length }]);
    expect(ingestFiles(store)).toEqual([]);
  });

  it('does not rewrite a blob it already has, but still consumes the source', async () => {
    const store = open();
    const { digest } = await store.ingest(Buffer.from('x'));
    let read = false;
    const source = Readable.from((function* () {
      read = true;
      yield Buffer.from('x');
    })());
    expect(await store.ingest(source, { expected: digest })).toEqual({ digest, size: 1 });
    expect(read).toBe(true);
  });

  it('hides and cleans up temp files of a crashed writer', async () => {
    const store = open();
    const deadPid = spawnSync('true').pid!;
    const crashed = `${deadPid}-1-abcdef`;
    const oldButAlive = `${process.pid}-2-abcdef`;
    const active = `${process.pid}-3-abcdef`;
    for (const name of [crashed, oldButAlive, active]) writeFileSync(join(store.root, 'ingest', name), 'partial');
    const dayAgo = (Date.now() - 25 * 60 * 60 * 1000) / 1000;
    utimesSync(join(store.root, 'ingest', oldButAlive), dayAgo, dayAgo);
    expect(await all(store)).toEqual([]);
    expect(await store.has(sha256('partial'))).toBe(false);

    const reopened = new ContentStore(store.root);
    expect(ingestFiles(reopened)).toEqual([active]);
  });

  it('reports missing blobs and bad digests clearly', async () => {
    const store = open();
    const d = sha256('missing');
    await expect(store.info(d)).rejects.toThrow(new NotFoundError(`No such blob: ${d}`, { code: 'BLOB_UNKNOWN' }));
    await expect(store.read(d)).rejects.toBeInstanceOf(NotFoundError);
    await expect(async () => {
      for await (const _ of store.createReadStream(d)) {
        // nothing
      }
    }).rejects.toThrow(`No such blob: ${d}`);
    expect(() => store.path('sha256:../../etc/passwd')).toThrow(InvalidArgumentError);
    await expect(store.ingest(Buffer.from('x'), { expected: 'nope' })).rejects.toBeInstanceOf(InvalidArgumentError);
    await store.delete(d); // idempotent
  });

  it('deletes blobs', async () => {
    const store = open();
    const { digest } = await store.ingest(Buffer.from('gone'));
    await store.delete(digest);
    expect(await store.has(digest)).toBe(false);
    expect(await all(store)).toEqual([]);
  });
});
