import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MediaType, sha256 } from '@berth/oci';
import { errorCode, errorMessage, expectRegistryError, pushBlob, pushImage, putManifest, startTestRegistry, type TestRegistry } from '../test-support.js';

let reg: TestRegistry;
beforeEach(async () => {
  reg = await startTestRegistry({ deleteEnabled: true });
});
afterEach(async () => {
  await reg.close();
});

function index(children: Array<{ digest: string; size: number; arch: string; mediaType?: string }>, mediaType: string = MediaType.OciIndex): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: children.map((c) => ({ mediaType: c.mediaType ?? MediaType.OciManifest, digest: c.digest, size: c.size, platform: { os: 'linux', architecture: c.arch } })),
    }),
  );
}

describe('manifests', () => {
  it('are stored byte for byte and served by tag and by digest with their media type', async () => {
    const image = await pushImage(reg.app, 'lib/app', 'v1');
    for (const ref of ['v1', image.digest]) {
      const res = await reg.app.inject({ method: 'GET', url: `/v2/lib/app/manifests/${ref}` });
      expect(res.statusCode).toBe(200);
      expect(res.rawPayload.equals(image.manifest)).toBe(true);
      expect(res.headers['content-type']).toBe(MediaType.OciManifest);
      expect(res.headers['docker-content-digest']).toBe(image.digest);
    }
    const head = await reg.app.inject({ method: 'HEAD', url: '/v2/lib/app/manifests/v1' });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBe(String(image.manifest.length));
    expect(head.body).toBe('');
  });

  it('answer the PUT with 201, Location and Docker-Content-Digest', async () => {
    const image = await pushImage(reg.app, 'lib/app', 'v1');
    const res = await putManifest(reg.app, 'lib/app', 'v2', image.manifest, MediaType.OciManifest);
    expect(res.statusCode).toBe(201);
    expect(res.headers.location).toBe(`/v2/lib/app/manifests/${image.digest}`);
    expect(res.headers['docker-content-digest']).toBe(image.digest);
  });

  it('refuse a manifest referencing a blob the repository lacks (MANIFEST_BLOB_UNKNOWN)', async () => {
    const image = await pushImage(reg.app, 'lib/app', 'v1');
    const res = await putManifest(reg.app, 'lib/other', 'v1', image.manifest, MediaType.OciManifest);
    expectRegistryError(res, { status: 400, code: 'MANIFEST_BLOB_UNKNOWN', message: `Manifest references blob "${image.config}" that is not in repository "lib/other": push it first` });
  });

  it('refuse invalid manifests with MANIFEST_INVALID', async () => {
    await pushBlob(reg.app, 'lib/app', 'x');
    const cases: Array<[string, string, string]> = [
      ['{not json', MediaType.OciManifest, 'Invalid manifest: body is not valid JSON'],
      ['{"schemaVersion":1,"name":"x"}', MediaType.DockerSchema1Signed, 'Invalid manifest: Docker schema 1 manifests are not supported, push schema 2 or OCI'],
      [JSON.stringify({ schemaVersion: 2, mediaType: 'application/x-foo', config: {}, layers: [] }), 'application/x-foo', 'Invalid manifest: unsupported media type "application/x-foo"'],
      [JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] }), MediaType.OciManifest, `Invalid manifest: mediaType "${MediaType.OciIndex}" does not match Content-Type "${MediaType.OciManifest}"`],
      [JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, layers: [] }), MediaType.OciManifest, 'Invalid manifest: config must be an object'],
      [JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: 'a', digest: 'sha256:zz', size: 1 }, layers: [] }), MediaType.OciManifest, 'Invalid manifest: config.digest "sha256:zz" is not a valid digest'],
    ];
    for (const [body, type, message] of cases) {
      const res = await putManifest(reg.app, 'lib/app', 'bad', body, type);
      expectRegistryError(res, { status: 400, code: 'MANIFEST_INVALID' });
      expect(errorMessage(res)).toContain(message);
    }
  });

  it('refuse a body whose digest differs from the digest reference (DIGEST_INVALID)', async () => {
    const image = await pushImage(reg.app, 'lib/app', 'v1');
    const res = await putManifest(reg.app, 'lib/app', sha256('other'), image.manifest, MediaType.OciManifest);
    expectRegistryError(res, { status: 400, code: 'DIGEST_INVALID' });
  });

  it('refuse a malformed tag with TAG_INVALID and unknown references with 404 MANIFEST_UNKNOWN', async () => {
    const image = await pushImage(reg.app, 'lib/app', 'v1');
    const bad = await putManifest(reg.app, 'lib/app', '-bad', image.manifest, MediaType.OciManifest);
    expectRegistryError(bad, { status: 400, code: 'TAG_INVALID' });
    const unknown = await reg.app.inject({ method: 'GET', url: '/v2/lib/app/manifests/v2' });
    expect(unknown.statusCode).toBe(404);
    expect(errorMessage(unknown)).toBe('Manifest "v2" is unknown in repository "lib/app"');
    const noRepo = await reg.app.inject({ method: 'GET', url: '/v2/lib/none/manifests/v1' });
    expectRegistryError(noRepo, { status: 404, code: 'NAME_UNKNOWN' });
  });

  it('accept tags as query parameters on a push by digest (OCI-Tag)', async () => {
    const image = await pushImage(reg.app, 'lib/app', 'v1');
    const res = await putManifest(reg.app, 'lib/app', `${image.digest}?tag=1.0&tag=latest`, image.manifest, MediaType.OciManifest);
    expect(res.statusCode).toBe(201);
    expect(res.headers['oci-tag']).toBe('1.0, latest');
    expect((await reg.app.inject({ method: 'GET', url: '/v2/lib/app/tags/list' })).json()).toEqual({ name: 'lib/app', tags: ['1.0', 'latest', 'v1'] });
  });

  it('store Docker schema 2 manifests and manifest lists whose children exist', async () => {
    const amd = await pushImage(reg.app, 'lib/multi', 'amd64', { mediaType: MediaType.DockerManifest, layers: ['amd'] });
    const arm = await pushImage(reg.app, 'lib/multi', 'arm64', { mediaType: MediaType.DockerManifest, layers: ['arm'] });
    const list = index(
      [
        { digest: arm.digest, size: arm.manifest.length, arch: 'arm64', mediaType: MediaType.DockerManifest },
        { digest: amd.digest, size: amd.manifest.length, arch: 'amd64', mediaType: MediaType.DockerManifest },
      ],
      MediaType.DockerManifestList,
    );
    expect((await putManifest(reg.app, 'lib/multi', 'latest', list, MediaType.DockerManifestList)).statusCode).toBe(201);
    const res = await reg.app.inject({ method: 'GET', url: '/v2/lib/multi/manifests/latest', headers: { accept: `${MediaType.DockerManifestList}, ${MediaType.DockerManifest}` } });
    expect(res.headers['content-type']).toBe(MediaType.DockerManifestList);

    const missing = index([{ digest: sha256('nope'), size: 4, arch: 'amd64' }]);
    const bad = await putManifest(reg.app, 'lib/multi', 'broken', missing, MediaType.OciIndex);
    expect(errorCode(bad)).toBe('MANIFEST_BLOB_UNKNOWN');
    expect(errorMessage(bad)).toBe(`Index references manifest "${sha256('nope')}" that is not in repository "lib/multi": push it first`);
  });

  it('negotiate by Accept: an index becomes its linux/amd64 child, an unreadable type is 404', async () => {
    const amd = await pushImage(reg.app, 'lib/multi', 'amd64', { layers: ['amd'] });
    const arm = await pushImage(reg.app, 'lib/multi', 'arm64', { layers: ['arm'] });
    const idx = index([
      { digest: arm.digest, size: arm.manifest.length, arch: 'arm64' },
      { digest: amd.digest, size: amd.manifest.length, arch: 'amd64' },
    ]);
    await putManifest(reg.app, 'lib/multi', 'latest', idx, MediaType.OciIndex);

    let res = await reg.app.inject({ method: 'GET', url: '/v2/lib/multi/manifests/latest', headers: { accept: MediaType.OciManifest } });
    expect(res.headers['content-type']).toBe(MediaType.OciManifest);
    expect(res.headers['docker-content-digest']).toBe(amd.digest);

    res = await reg.app.inject({ method: 'GET', url: '/v2/lib/multi/manifests/amd64', headers: { accept: `${MediaType.DockerManifest};q=0.9` } });
    expectRegistryError(res, { status: 404, code: 'MANIFEST_UNKNOWN' });

    res = await reg.app.inject({ method: 'GET', url: '/v2/lib/multi/manifests/latest', headers: { accept: '*/*' } });
    expect(res.headers['content-type']).toBe(MediaType.OciIndex);
  });

  it('delete a tag alone, or a manifest with its tags (202)', async () => {
    const image = await pushImage(reg.app, 'lib/app', 'v1');
    await putManifest(reg.app, 'lib/app', 'v2', image.manifest, MediaType.OciManifest);
    expect((await reg.app.inject({ method: 'DELETE', url: '/v2/lib/app/manifests/v2' })).statusCode).toBe(202);
    expect((await reg.app.inject({ method: 'GET', url: '/v2/lib/app/manifests/v2' })).statusCode).toBe(404);
    expect((await reg.app.inject({ method: 'GET', url: '/v2/lib/app/manifests/v1' })).statusCode).toBe(200);

    expect((await reg.app.inject({ method: 'DELETE', url: `/v2/lib/app/manifests/${image.digest}` })).statusCode).toBe(202);
    expect((await reg.app.inject({ method: 'GET', url: `/v2/lib/app/manifests/${image.digest}` })).statusCode).toBe(404);
    expect((await reg.app.inject({ method: 'GET', url: '/v2/lib/app/manifests/v1' })).statusCode).toBe(404);
    expect((await reg.app.inject({ method: 'GET', url: '/v2/lib/app/tags/list' })).json()).toEqual({ name: 'lib/app', tags: [] });
    expect(errorCode(await reg.app.inject({ method: 'DELETE', url: `/v2/lib/app/manifests/${image.digest}` }))).toBe('MANIFEST_UNKNOWN');
  });

  it('refuse manifests above 4 MiB with 413', async () => {
    const res = await putManifest(reg.app, 'lib/app', 'big', Buffer.alloc(4 * 1024 * 1024 + 1, 32), MediaType.OciManifest);
    expectRegistryError(res, { status: 413, code: 'SIZE_INVALID' });
  });
});
