/** Push to Berth's registry running as a real process (no auth), then pull back. */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ContentStore } from '@berth/content';
import { MediaType } from '@berth/oci';
import { describe, expect, it } from 'vitest';
import type { ProgressEvent } from './progress.js';
import { progressId, startProxy, storeImage, storeIndex, useRegistryFixture } from './test-support.js';

const t = useRegistryFixture('push');

describe('push', () => {
  it('pushes an image and pulls it back with identical digests; a second push moves nothing', async () => {
    const source = new ContentStore(join(t.dir.path, 'source'));
    const img = await storeImage(source, { layers: [randomBytes(200_000), randomBytes(1000)] });
    const events: ProgressEvent[] = [];
    const result = await t.client.push(`${t.host}/berth/app:v1`, { store: source, manifestDigest: img.digest, onProgress: (e) => events.push(e) });
    expect(result.status).toBe(`v1: digest: ${img.digest} size: ${img.manifest.length}`);
    expect(result).toMatchObject({ tag: 'v1', digest: img.digest, size: img.manifest.length, mediaType: MediaType.OciManifest, blobsPushed: 3, blobsExisting: 0 });
    for (const layer of img.layers) {
      const statuses = events.filter((e) => e.id === progressId(layer)).map((e) => e.status);
      expect(statuses[0]).toBe('Preparing');
      expect(statuses.at(-1)).toBe('Pushed');
    }
    expect(events.find((e) => e.id === progressId(img.layers[0]!) && e.status === 'Pushing')).toMatchObject({ total: 200_000 });

    const target = new ContentStore(join(t.dir.path, 'target'));
    const pulled = await t.client.pull(`${t.host}/berth/app:v1`, { store: target });
    expect(pulled.manifestDigest).toBe(img.digest);
    expect(pulled.manifestBytes).toEqual(img.manifest);
    for (const d of [img.config, ...img.layers]) expect(await target.read(d)).toEqual(await source.read(d));

    const again: ProgressEvent[] = [];
    const second = await t.client.push(`${t.host}/berth/app:v1`, { store: source, manifest: img.manifest, onProgress: (e) => again.push(e) });
    expect(second).toMatchObject({ blobsPushed: 0, blobsExisting: 3, bytesUploaded: 0, digest: img.digest });
    expect(again.filter((e) => e.status !== 'Preparing')).toEqual(
      expect.arrayContaining(img.layers.map((l) => ({ id: progressId(l), status: 'Layer already exists' }))),
    );
  });

  it('mounts blobs from another repository of the same registry', async () => {
    const source = new ContentStore(join(t.dir.path, 'source'));
    const img = await storeImage(source, { layers: [randomBytes(5000)], label: 'mount' });
    await t.client.push(`${t.host}/berth/base:v1`, { store: source, manifestDigest: img.digest });
    t.proxy = await startProxy(t.registry.url);
    const events: ProgressEvent[] = [];
    const result = await t.client.push(`${t.proxy.host}/berth/derived:v1`, {
      store: source,
      manifestDigest: img.digest,
      mountFrom: 'berth/base',
      onProgress: (e) => events.push(e),
    });
    expect(result).toMatchObject({ blobsMounted: 2, blobsPushed: 0 });
    expect(events.at(-1)).toEqual({ id: progressId(img.layers[0]!), status: 'Mounted from berth/base' });
    expect(t.proxy.log.filter((e) => e.method === 'PUT' || e.method === 'PATCH').map((e) => e.path)).toEqual(['/v2/berth/derived/manifests/v1']);
    expect(t.proxy.log.filter((e) => e.method === 'POST').every((e) => e.path.includes('mount=') && e.status === 201)).toBe(true);
  });

  it('uploads large blobs in PATCH chunks when asked', async () => {
    const source = new ContentStore(join(t.dir.path, 'source'));
    const img = await storeImage(source, { layers: [randomBytes(300 * 1024)], label: 'chunked' });
    t.proxy = await startProxy(t.registry.url);
    await t.client.push(`${t.proxy.host}/berth/chunked:v1`, { store: source, manifestDigest: img.digest, chunkSize: 128 * 1024 });
    const patches = t.proxy.log.filter((e) => e.method === 'PATCH');
    expect(patches).toHaveLength(3);
    expect(patches.every((e) => e.status === 202)).toBe(true);
    const target = new ContentStore(join(t.dir.path, 'target'));
    await t.client.pull(`${t.host}/berth/chunked:v1`, { store: target });
    expect(await target.read(img.layers[0]!)).toEqual(await source.read(img.layers[0]!));
  });

  it('pushes an index with its manifests, and pulls a platform back', async () => {
    const source = new ContentStore(join(t.dir.path, 'source'));
    const amd = await storeImage(source, { layers: [Buffer.from('amd64 root')], architecture: 'amd64' });
    const arm = await storeImage(source, { layers: [Buffer.from('arm64 root')], architecture: 'arm64', variant: 'v8' });
    const index = await storeIndex(source, [
      { image: amd, platform: { os: 'linux', architecture: 'amd64' } },
      { image: arm, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    ]);
    const result = await t.client.push(`${t.host}/berth/multi:v1`, { store: source, manifestDigest: index.digest });
    expect(result).toMatchObject({ digest: index.digest, mediaType: MediaType.OciIndex, blobsPushed: 4 });
    const target = new ContentStore(join(t.dir.path, 'target'));
    const pulled = await t.client.pull(`${t.host}/berth/multi:v1`, { store: target, platform: 'linux/arm64/v8' });
    expect(pulled.digest).toBe(index.digest);
    expect(pulled.manifestDigest).toBe(arm.digest);
    expect(pulled.config.architecture).toBe('arm64');
  });

  it('refuses to push an image whose blobs are not in the store', async () => {
    const source = new ContentStore(join(t.dir.path, 'source'));
    const img = await storeImage(source, { layers: [Buffer.from('gone')] });
    await source.delete(img.layers[0]!);
    await expect(t.client.push(`${t.host}/berth/missing:v1`, { store: source, manifestDigest: img.digest })).rejects.toMatchObject({
      kind: 'failed-precondition',
      message: `Cannot push "${t.host}/berth/missing:v1": blob "${img.layers[0]}" is not in the content store`,
    });
    await expect(t.client.push(`${t.host}/berth/missing:v1`, { store: source, manifestDigest: `sha256:${'0'.repeat(64)}` })).rejects.toThrow(
      `Cannot push "${t.host}/berth/missing:v1": manifest "sha256:${'0'.repeat(64)}" is not in the content store`,
    );
  });

  it('lists tags and resolves a tag with HEAD', async () => {
    const source = new ContentStore(join(t.dir.path, 'source'));
    const img = await storeImage(source, { layers: [Buffer.from('tags')], label: 'tags' });
    await t.client.push(`${t.host}/berth/tags:a`, { store: source, manifestDigest: img.digest });
    await t.client.push(`${t.host}/berth/tags:b`, { store: source, manifestDigest: img.digest });
    expect((await t.client.listTags(`${t.host}/berth/tags`)).sort()).toEqual(['a', 'b']);
    expect(await t.client.resolve(`${t.host}/berth/tags:b`)).toEqual({ mediaType: MediaType.OciManifest, digest: img.digest, size: img.manifest.length });
  });
});
