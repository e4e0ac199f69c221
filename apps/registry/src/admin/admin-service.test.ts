import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaType, sha512 } from '@berth/oci';
import { channelOptions, grpcTarget, RegistryClient, unary } from '@berth/proto';
import type { RegistryEvent } from '../registry-events.js';
import { FilesystemStorage } from '../storage/filesystem-storage.js';
import { pushBlob, pushImage, putManifest, startTestRegistry, type TestImage, type TestRegistry } from '../test-support.js';
import { registryAdminService } from './admin-service.js';
import { serveAdmin, type AdminServer } from './grpc-server.js';

describe('the Registry admin service over gRPC', () => {
  let registry: TestRegistry;
  let admin: AdminServer;
  let client: RegistryClient;
  let web: TestImage;
  let api: TestImage;

  beforeAll(async () => {
    registry = await startTestRegistry({ deleteEnabled: true });
    admin = await serveAdmin(`unix:${join(registry.root, 'admin.sock')}`, registryAdminService(new FilesystemStorage(registry.root)));
    client = new RegistryClient(grpcTarget(admin.address), grpc.credentials.createInsecure(), channelOptions);
    web = await pushImage(registry.app, 'team/web', 'v1', { layers: ['shared layer', 'web layer'] });
    await pushImage(registry.app, 'team/web', 'v2', { layers: ['shared layer', 'web layer 2'] });
    api = await pushImage(registry.app, 'api', 'latest', { layers: ['shared layer'] });
    await pushBlob(registry.app, 'orphans', 'a blob without manifest');
  });
  afterAll(async () => {
    client?.close();
    await admin?.close();
    await registry?.close();
  });

  it('lists repositories with their tags and digests', async () => {
    const res = await unary(client, client.listRepositories, {});
    expect(res.repositories.map((r) => [r.name, r.tags.map((t) => t.name)])).toEqual([
      ['api', ['latest']],
      ['orphans', []],
      ['team/web', ['v1', 'v2']],
    ]);
    const tags = await unary(client, client.listTags, { repository: 'team/web' });
    expect(tags.tags[0]).toEqual({ name: 'v1', digest: web.digest, mediaType: 'application/vnd.oci.image.manifest.v1+json' });
  });

  it('answers NOT_FOUND and INVALID_ARGUMENT with the registry messages', async () => {
    await expect(unary(client, client.listTags, { repository: 'nope' })).rejects.toMatchObject({
      kind: 'not-found',
      message: 'Repository "nope" is unknown to this registry',
    });
    await expect(unary(client, client.listTags, { repository: 'Bad' })).rejects.toMatchObject({ kind: 'invalid-argument' });
    await expect(unary(client, client.garbageCollect, { dryRun: true, grace: 'soon' })).rejects.toMatchObject({
      kind: 'invalid-argument',
      message: 'Invalid duration "soon": expected a number with ms, s, m or h, e.g. 30m',
    });
  });

  it('reports usage per repository and shared blobs once in the total', async () => {
    const res = await unary(client, client.usage, {});
    const byName = Object.fromEntries(res.repositories.map((r) => [r.name, r]));
    // api: config + 1 layer + manifest
    expect(byName.api).toMatchObject({ blobs: 3, manifests: 1, tags: 1 });
    expect(byName.api!.bytes).toBe(
      Buffer.byteLength('shared layer') + api.manifest.length + Buffer.byteLength(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, tag: 'latest' })),
    );
    // team/web: 2 configs + 3 layers + 2 manifests
    expect(byName['team/web']).toMatchObject({ blobs: 7, manifests: 2, tags: 2 });
    expect(byName.orphans).toMatchObject({ blobs: 1, manifests: 0, tags: 0 });
    // distinct: 3 configs (each names its tag), 3 layers ('shared layer' once), 3 manifests, the orphan
    expect(res.blobs).toBe(10);
    expect(res.bytes).toBe(byName.api!.bytes + byName['team/web']!.bytes + byName.orphans!.bytes - Buffer.byteLength('shared layer'));
  });

  it('garbage-collects unreferenced blobs: a dry run lists them, a real run removes them', async () => {
    expect((await registry.app.inject({ method: 'DELETE', url: `/v2/team/web/manifests/${web.digest}` })).statusCode).toBe(202);
    // Within the default grace period (1 h) nothing goes.
    const recent = await unary(client, client.garbageCollect, { dryRun: true, grace: '' });
    expect(recent).toMatchObject({ dryRun: true, removed: [], freedBytes: 0 });
    expect(recent.keptRecent).toBeGreaterThan(0);

    const dry = await unary(client, client.garbageCollect, { dryRun: true, grace: '0' });
    // v1's manifest, its config and 'web layer'; the orphan blob
    const expected = [web.digest, web.config, web.layers[1]!].sort();
    expect(dry.removed.map((b) => b.digest).filter((d) => expected.includes(d)).sort()).toEqual(expected);
    expect(dry.removed).toHaveLength(4);
    expect(dry.freedBytes).toBe(dry.removed.reduce((n, b) => n + b.size, 0));
    expect((await registry.app.inject({ method: 'HEAD', url: `/v2/team/web/blobs/${web.layers[1]}` })).statusCode).toBe(200);

    const real = await unary(client, client.garbageCollect, { dryRun: false, grace: '0' });
    expect(real).toMatchObject({ dryRun: false, removed: dry.removed, freedBytes: dry.freedBytes });
    expect((await registry.app.inject({ method: 'HEAD', url: `/v2/team/web/blobs/${web.layers[1]}` })).statusCode).toBe(404);
    expect((await registry.app.inject({ method: 'GET', url: '/v2/team/web/manifests/v2' })).statusCode).toBe(200);
    // v2's manifest, config and 'web layer 2', api's manifest and config, 'shared layer'
    expect((await unary(client, client.usage, {})).blobs).toBe(6);
  });
});

describe('Registry.Remove and Registry.Info', () => {
  let registry: TestRegistry;
  let admin: AdminServer;
  let client: RegistryClient;
  const events: RegistryEvent[] = [];

  beforeAll(async () => {
    registry = await startTestRegistry({ deleteEnabled: true });
    const info = { address: '127.0.0.1:5000', url: 'http://127.0.0.1:5000', version: '0.1.0', proxy: false, auth: 'basic' };
    const service = registryAdminService(new FilesystemStorage(registry.root), { events: { notify: (e) => events.push(e) }, info });
    admin = await serveAdmin(`unix:${join(registry.root, 'admin.sock')}`, service);
    client = new RegistryClient(grpcTarget(admin.address), grpc.credentials.createInsecure(), channelOptions);
  });
  afterAll(async () => {
    client?.close();
    await admin?.close();
    await registry?.close();
  });

  const status = async (url: string) => (await registry.app.inject({ method: 'GET', url })).statusCode;

  it('answers Info with what it was given', async () => {
    expect(await unary(client, client.info, {})).toEqual({ address: '127.0.0.1:5000', url: 'http://127.0.0.1:5000', version: '0.1.0', proxy: false, auth: 'basic' });
  });

  it('removes a tag, then a manifest by digest with its tags, and tells the event sink', async () => {
    const image = await pushImage(registry.app, 'team/app', 'v1');
    await putManifest(registry.app, 'team/app', 'v2', image.manifest, MediaType.OciManifest);
    await putManifest(registry.app, 'team/app', 'v3', image.manifest, MediaType.OciManifest);
    events.length = 0;
    expect(await unary(client, client.remove, { repository: 'team/app', reference: 'v1' })).toEqual({
      repository: 'team/app',
      untagged: ['v1'],
      deleted: [],
      repositoryRemoved: false,
    });
    expect(await status('/v2/team/app/manifests/v1')).toBe(404);
    expect(await status('/v2/team/app/manifests/v2')).toBe(200);
    const byDigest = await unary(client, client.remove, { repository: 'team/app', reference: image.digest });
    expect(byDigest).toEqual({ repository: 'team/app', untagged: ['v2', 'v3'], deleted: [image.digest], repositoryRemoved: false });
    expect(await status(`/v2/team/app/manifests/${image.digest}`)).toBe(404);
    expect(events).toEqual([
      { action: 'delete', repository: 'team/app', digest: image.digest, tag: 'v1', tags: ['v1'] },
      { action: 'delete', repository: 'team/app', digest: image.digest, tags: ['v2', 'v3'] },
    ]);
    await expect(unary(client, client.remove, { repository: 'team/app', reference: 'v1' })).rejects.toMatchObject({
      kind: 'not-found',
      message: 'Manifest "v1" is unknown in repository "team/app"',
    });
  });

  it('removes a whole repository (sha512 content too), keeping repositories nested below it, and gc then frees its blobs', async () => {
    const image = await pushImage(registry.app, 'team', 'v1');
    await pushImage(registry.app, 'team', 'v2', { layers: ['second'] });
    const nested = await pushImage(registry.app, 'team/nested', 'latest');
    const big = Buffer.from('sha512 content');
    const digest512 = sha512(big);
    expect((await registry.app.inject({ method: 'POST', url: `/v2/team/blobs/uploads/?digest=${digest512}`, payload: big })).statusCode).toBe(201);
    const res = await unary(client, client.remove, { repository: 'team', reference: '' });
    expect(res.untagged).toEqual(['v1', 'v2']);
    expect(res.deleted).toHaveLength(2);
    expect(res.deleted).toContain(image.digest);
    expect(res.repositoryRemoved).toBe(true);
    expect(await status('/v2/team/tags/list')).toBe(404);
    expect(await status(`/v2/team/blobs/${digest512}`)).toBe(404);
    expect(await status(`/v2/team/nested/manifests/${nested.digest}`)).toBe(200);
    expect((await unary(client, client.listRepositories, {})).repositories.map((r) => r.name)).not.toContain('team');
    const gc = await unary(client, client.garbageCollect, { dryRun: false, grace: '0' });
    expect(gc.removed.map((b) => b.digest)).toEqual(expect.arrayContaining([image.digest, image.config, ...image.layers, digest512]));
    await expect(unary(client, client.remove, { repository: 'team', reference: '' })).rejects.toMatchObject({
      kind: 'not-found',
      message: 'Repository "team" is unknown to this registry',
    });
    await expect(unary(client, client.remove, { repository: 'Team', reference: '' })).rejects.toMatchObject({ kind: 'invalid-argument' });
  });
});
