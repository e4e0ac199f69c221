/**
 * Pulls from Berth's registry running as a real process (seeded over HTTP by @berth/testing),
 * sometimes behind a tampering proxy.
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ContentStore } from '@berth/content';
import { MediaType } from '@berth/oci';
import { pushTestImage, putTestManifest } from '@berth/testing';
import { describe, expect, it } from 'vitest';
import type { ProgressEvent } from './progress.js';
import { progressId, startProxy, useRegistryFixture } from './test-support.js';

const t = useRegistryFixture('pull');

describe('pull', () => {
  it('pulls an image into the store, verified, and moves nothing the second time', async () => {
    const img = await pushTestImage(t.registry.url, 'test/app', 'v1', { layers: ['first layer', 'second layer'] });
    const store = new ContentStore(join(t.dir.path, 'content'));
    const events: ProgressEvent[] = [];
    const result = await t.client.pull(`${t.host}/test/app:v1`, { store, onProgress: (e) => events.push(e) });

    expect(result.digest).toBe(img.digest);
    expect(result.manifestDigest).toBe(img.digest);
    expect(result.mediaType).toBe(MediaType.OciManifest);
    expect(result.manifestBytes).toEqual(img.manifest);
    expect(result.layers.map((l) => l.digest)).toEqual(img.layers);
    expect(result.config.architecture).toBe('amd64');
    expect(result.layersDownloaded).toBe(2);
    expect(await store.read(img.digest)).toEqual(img.manifest);
    expect((await store.read(img.layers[0]!)).toString()).toBe('first layer');
    expect((await store.read(img.layers[1]!)).toString()).toBe('second layer');
    expect(await store.has(img.config)).toBe(true);
    const statuses = (id: string) => events.filter((e) => e.id === id).map((e) => e.status);
    for (const layer of img.layers) {
      expect(statuses(progressId(layer))[0]).toBe('Pulling fs layer');
      expect(statuses(progressId(layer)).slice(-2)).toEqual(['Download complete', 'Pull complete']);
    }
    expect(events.some((e) => e.id === progressId(img.config))).toBe(false);

    const again: ProgressEvent[] = [];
    const second = await t.client.pull(`${t.host}/test/app:v1`, { store, onProgress: (e) => again.push(e) });
    expect(second.bytesDownloaded).toBe(0);
    expect(second.layersExisting).toBe(2);
    expect(again).toEqual(img.layers.map((l) => ({ id: progressId(l), status: 'Already exists' })));
  });

  it('downloads only the layers the store lacks', async () => {
    await pushTestImage(t.registry.url, 'test/shared', 'base', { layers: ['shared base'] });
    const img = await pushTestImage(t.registry.url, 'test/shared', 'top', { layers: ['shared base', 'only on top'] });
    const store = new ContentStore(join(t.dir.path, 'content'));
    await t.client.pull(`${t.host}/test/shared:base`, { store });
    const result = await t.client.pull(`${t.host}/test/shared:top`, { store });
    expect(result.layersExisting).toBe(1);
    expect(result.layersDownloaded).toBe(1);
    // the new config and one layer
    expect(result.bytesDownloaded).toBe(result.configDescriptor.size + 'only on top'.length);
    expect((await store.read(img.layers[1]!)).toString()).toBe('only on top');
  });

  it('pulls Docker schema 2 manifests and by digest', async () => {
    const img = await pushTestImage(t.registry.url, 'test/docker', 'v1', { mediaType: MediaType.DockerManifest });
    const store = new ContentStore(join(t.dir.path, 'content'));
    const result = await t.client.pull(`${t.host}/test/docker@${img.digest}`, { store });
    expect(result.mediaType).toBe(MediaType.DockerManifest);
    expect(result.manifestDigest).toBe(img.digest);
    expect(result.reference.tag).toBeUndefined();
  });

  it('picks the platform from an index', async () => {
    const amd = await pushTestImage(t.registry.url, 'test/multi', 'amd64', { layers: ['amd64 layer'] });
    const arm = await pushTestImage(t.registry.url, 'test/multi', 'arm64', { layers: ['arm64 layer'] });
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        manifests: [
          { mediaType: MediaType.OciManifest, digest: amd.digest, size: amd.manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
          { mediaType: MediaType.OciManifest, digest: arm.digest, size: arm.manifest.length, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
        ],
      }),
    );
    expect((await putTestManifest(t.registry.url, 'test/multi', 'latest', index, MediaType.OciIndex)).status).toBe(201);
    const store = new ContentStore(join(t.dir.path, 'content'));

    const armResult = await t.client.pull(`${t.host}/test/multi`, { store, platform: 'linux/arm64' });
    expect(armResult.manifestDigest).toBe(arm.digest);
    expect(armResult.digest).toBe(armResult.index!.digest);
    expect(armResult.index!.mediaType).toBe(MediaType.OciIndex);
    expect(await store.read(armResult.index!.digest)).toEqual(index);
    expect((await store.read(arm.layers[0]!)).toString()).toBe('arm64 layer');
    expect(await store.has(amd.layers[0]!)).toBe(false);

    const amdResult = await t.client.pull(`${t.host}/test/multi`, { store, platform: { os: 'linux', architecture: 'amd64' } });
    expect(amdResult.manifestDigest).toBe(amd.digest);

    await expect(t.client.pull(`${t.host}/test/multi`, { store, platform: 'linux/s390x' })).rejects.toThrow(
      'no matching manifest for linux/s390x in the manifest list entries',
    );
  });

  it('says when the manifest does not exist', async () => {
    const store = new ContentStore(join(t.dir.path, 'content'));
    await expect(t.client.pull(`${t.host}/test/none:v9`, { store })).rejects.toMatchObject({
      kind: 'not-found',
      message: `manifest for ${t.host}/test/none:v9 not found: name unknown: Repository "test/none" is unknown to this registry`,
    });
  });
});

describe('pull through a tampering proxy', () => {
  it('resumes a layer download cut mid-way with a Range request', async () => {
    const big = randomBytes(600 * 1024).toString('base64');
    const img = await pushTestImage(t.registry.url, 'test/resume', 'v1', { layers: [big] });
    t.proxy = await startProxy(`http://${t.host}`, { cut: { digest: img.layers[0]!, afterBytes: 300_000, times: 2 } });
    const store = new ContentStore(join(t.dir.path, 'content'));
    const result = await t.client.pull(`${t.proxy.host}/test/resume:v1`, { store, retryDelayMs: 10 });
    expect(result.manifestDigest).toBe(img.digest);
    expect((await store.read(img.layers[0]!)).toString()).toBe(big);
    const gets = t.proxy.log.filter((e) => e.path.endsWith(img.layers[0]!));
    // Resumed from what had been consumed (bytes still buffered when the socket broke are lost).
    expect(gets[0]!.range).toBeUndefined();
    const offsets = gets.slice(1).map((e) => Number(/^bytes=(\d+)-$/.exec(e.range ?? '')?.[1]));
    expect(offsets).toHaveLength(2);
    expect(offsets[0]).toBeGreaterThan(0);
    expect(offsets[0]).toBeLessThanOrEqual(300_000);
    expect(offsets[1]).toBeGreaterThan(offsets[0]!);
    expect(gets.map((e) => e.status)).toEqual([200, 206, 206]);
    expect(result.bytesDownloaded).toBeGreaterThanOrEqual(big.length + result.configDescriptor.size);
  });

  it('resumes from a server that ignores Range by skipping what it already has', async () => {
    const big = randomBytes(400 * 1024).toString('base64');
    const img = await pushTestImage(t.registry.url, 'test/norange', 'v1', { layers: [big] });
    t.proxy = await startProxy(`http://${t.host}`, { cut: { digest: img.layers[0]!, afterBytes: 250_000, times: 1 }, ignoreRange: true });
    const store = new ContentStore(join(t.dir.path, 'content'));
    await t.client.pull(`${t.proxy.host}/test/norange:v1`, { store, retryDelayMs: 10 });
    expect((await store.read(img.layers[0]!)).toString()).toBe(big);
    expect(t.proxy.log.filter((e) => e.path.endsWith(img.layers[0]!)).map((e) => e.status)).toEqual([200, 200]);
  });

  it('gives up after maxRetries and leaves nothing in the store', async () => {
    const img = await pushTestImage(t.registry.url, 'test/broken', 'v1', { layers: ['x'.repeat(100_000)] });
    t.proxy = await startProxy(`http://${t.host}`, { cut: { digest: img.layers[0]!, afterBytes: 1000, times: 100 } });
    const store = new ContentStore(join(t.dir.path, 'content'));
    await expect(t.client.pull(`${t.proxy.host}/test/broken:v1`, { store, maxRetries: 2, retryDelayMs: 5 })).rejects.toMatchObject({
      kind: 'unavailable',
      message: expect.stringMatching(
        new RegExp(`^Cannot download blob "${img.layers[0]}" from "${t.proxy.host}/test/broken": .* \\(gave up after 3 attempts, \\d+ of 100000 bytes received\\)$`),
      ),
    });
    expect(await store.has(img.layers[0]!)).toBe(false);
    expect(await store.has(img.digest)).toBe(false);
    expect(await readdir(join(t.dir.path, 'content', 'ingest'))).toEqual([]);
  });

  it('refuses a blob whose bytes do not match its digest', async () => {
    const img = await pushTestImage(t.registry.url, 'test/corrupt', 'v1', { layers: ['an honest layer'] });
    t.proxy = await startProxy(`http://${t.host}`, { corrupt: img.layers[0]! });
    const store = new ContentStore(join(t.dir.path, 'content'));
    const err = await t.client.pull(`${t.proxy.host}/test/corrupt:v1`, { store }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'invalid-argument', code: 'DIGEST_MISMATCH' });
    expect((err as Error).message).toMatch(
      new RegExp(`^Cannot pull "${t.proxy.host}/test/corrupt:v1": blob from "${t.proxy.host}" refused: Cannot store blob: content has digest "sha256:[a-f0-9]{64}", expected "${img.layers[0]}"$`),
    );
    expect(await store.has(img.layers[0]!)).toBe(false);
    expect(await store.has(img.digest)).toBe(false);
    expect(await readdir(join(t.dir.path, 'content', 'ingest'))).toEqual([]);
  });

  it('refuses a manifest whose bytes do not match the digest asked for', async () => {
    const img = await pushTestImage(t.registry.url, 'test/badmanifest', 'v1');
    t.proxy = await startProxy(`http://${t.host}`, { corrupt: img.digest });
    const store = new ContentStore(join(t.dir.path, 'content'));
    await expect(t.client.pull(`${t.proxy.host}/test/badmanifest@${img.digest}`, { store })).rejects.toThrow(
      new RegExp(`^Manifest of "${t.proxy.host}/test/badmanifest@${img.digest}" has digest "sha256:[a-f0-9]{64}", expected "${img.digest}": refusing it$`),
    );
    expect(await store.has(img.digest)).toBe(false);
  });
});
