import { readFile, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256 } from '@berth/oci';
import { makeTempDir } from '../test-support.js';
import { FilesystemStorage } from './filesystem-storage.js';

let root: string;
beforeEach(async () => {
  root = await makeTempDir();
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('FilesystemStorage uploads', () => {
  it('complete an upload begun by another process (digest recomputed from the data file)', async () => {
    const before = new FilesystemStorage(root);
    const { uuid } = await before.startUpload('lib/app');
    await before.writeUpload('lib/app', uuid, Readable.from([Buffer.from('part one, ')]), { start: 0, end: 9 });
    const after = new FilesystemStorage(root); // a restarted server: no in-memory hash state
    expect((await after.uploadStatus('lib/app', uuid)).size).toBe(10);
    const blob = await after.completeUpload('lib/app', uuid, sha256('part one, part two'), { source: Readable.from([Buffer.from('part two')]) });
    expect(blob).toEqual({ digest: sha256('part one, part two'), size: 18 });
    expect(await after.statBlob('lib/app', blob.digest)).toEqual(blob);
  });

  it('serialize concurrent chunks of one upload', async () => {
    const storage = new FilesystemStorage(root);
    const { uuid } = await storage.startUpload('lib/app');
    const chunks = Array.from({ length: 20 }, (_, i) => `chunk-${String(i).padStart(2, '0')};`);
    await Promise.all(chunks.map((c) => storage.writeUpload('lib/app', uuid, Readable.from([Buffer.from(c)]))));
    const size = chunks.join('').length;
    expect((await storage.uploadStatus('lib/app', uuid)).size).toBe(size);
    // Whatever order they landed in, no chunk was interleaved with another.
    const content = await readFile(storage.paths.uploadData('lib/app', uuid), 'utf8');
    expect(content.split(';').filter(Boolean).sort()).toEqual(chunks.map((c) => c.slice(0, -1)).sort());
  });
});
