/**
 * sha512 on every endpoint, as the OCI distribution spec (1.1) asks and its conformance suite tests
 * ("Blobs sha512": post only, post+put, chunked, stream, mount, mount anonymous, mount missing,
 * cancel; "Digest Algorithm sha512": an index of images pushed by digest, with tag parameters;
 * referrers of a sha512 subject). The suite starts sessions without `digest-algorithm`, so both
 * ways are covered here.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MediaType, sha256, sha512 } from '@berth/oci';
import { garbageCollect } from '../storage/gc.js';
import { errorCode, errorMessage, expectRegistryError, putManifest, startTestRegistry, type TestRegistry } from '../test-support.js';

let reg: TestRegistry;
beforeEach(async () => {
  reg = await startTestRegistry({ deleteEnabled: true });
});
afterEach(async () => {
  await reg.close();
});

const octet = { 'content-type': 'application/octet-stream' };

async function post512(name: string, data: string): Promise<string> {
  const digest = sha512(data);
  const res = await reg.app.inject({ method: 'POST', url: `/v2/${name}/blobs/uploads/?digest=${digest}`, payload: data, headers: octet });
  expect(res.statusCode, res.body).toBe(201);
  return digest;
}

async function head(url: string): Promise<{ status: number; digest?: string; length?: string }> {
  const res = await reg.app.inject({ method: 'HEAD', url });
  return { status: res.statusCode, digest: res.headers['docker-content-digest'] as string | undefined, length: res.headers['content-length'] as string | undefined };
}

/** An image whose config, layer and manifest are all named by sha512, pushed by digest. */
async function pushImage512(name: string, label: string, tags: string[] = []): Promise<{ digest: string; manifest: string; blobs: string[] }> {
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, label });
  const layer = `layer ${label}`;
  const blobs = [await post512(name, config), await post512(name, layer)];
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: blobs[0], size: config.length },
    layers: [{ mediaType: MediaType.OciLayer, digest: blobs[1], size: layer.length }],
  });
  const digest = sha512(manifest);
  const query = tags.map((t) => `tag=${t}`).join('&');
  const res = await putManifest(reg.app, name, query ? `${digest}?${query}` : digest, manifest, MediaType.OciManifest);
  expect(res.statusCode, res.body).toBe(201);
  expect(res.headers['docker-content-digest']).toBe(digest);
  expect(res.headers.location).toBe(`/v2/${name}/manifests/${digest}`);
  return { digest, manifest, blobs };
}

describe('sha512 blobs', () => {
  it('GET and HEAD of a missing sha512 blob are 404 BLOB_UNKNOWN, not DIGEST_INVALID', async () => {
    await post512('lib/app', 'present');
    const missing = sha512('hello world');
    const res = await reg.app.inject({ method: 'GET', url: `/v2/lib/app/blobs/${missing}` });
    expectRegistryError(res, { status: 404, code: 'BLOB_UNKNOWN' });
    expect((await head(`/v2/lib/app/blobs/${missing}`)).status).toBe(404);
  });

  it('post only: one POST ?digest=sha512:… stores the blob; HEAD and GET (ranges too) serve it under that digest', async () => {
    const digest = await post512('lib/app', '0123456789');
    expect(await head(`/v2/lib/app/blobs/${digest}`)).toEqual({ status: 200, digest, length: '10' });
    const res = await reg.app.inject({ method: 'GET', url: `/v2/lib/app/blobs/${digest}` });
    expect(res.body).toBe('0123456789');
    expect(res.headers['docker-content-digest']).toBe(digest);
    const range = await reg.app.inject({ method: 'GET', url: `/v2/lib/app/blobs/${digest}`, headers: { range: 'bytes=3-5' } });
    expect(range.statusCode).toBe(206);
    expect(range.body).toBe('345');
    // The same bytes under sha256 are another blob, not pushed.
    expect((await head(`/v2/lib/app/blobs/${sha256('0123456789')}`)).status).toBe(404);
  });

  it('post+put: a session closed by PUT ?digest=sha512:… with the body, with or without digest-algorithm=sha512', async () => {
    for (const [query, data] of [['', 'monolithic one'], ['?digest-algorithm=sha512', 'monolithic two']]) {
      const post = await reg.app.inject({ method: 'POST', url: `/v2/lib/app/blobs/uploads/${query}` });
      expect(post.statusCode).toBe(202);
      const put = await reg.app.inject({ method: 'PUT', url: `${post.headers.location}?digest=${sha512(data)}`, payload: data, headers: octet });
      expect(put.statusCode, put.body).toBe(201);
      expect(put.headers.location).toBe(`/v2/lib/app/blobs/${sha512(data)}`);
      expect(put.headers['docker-content-digest']).toBe(sha512(data));
      expect((await reg.app.inject({ method: 'GET', url: `/v2/lib/app/blobs/${sha512(data)}` })).body).toBe(data);
    }
  });

  it('chunked and streamed: PATCH chunks (Content-Range or none), then PUT ?digest=sha512:…, the last chunk in the PUT too', async () => {
    const data = 'x'.repeat(1024) + 'y'.repeat(1024) + 'z'.repeat(1019);
    for (const [query, ranged, lastInPut] of [
      ['?digest-algorithm=sha512', true, false],
      ['', true, true],
      ['', false, false],
    ] as const) {
      let location = (await reg.app.inject({ method: 'POST', url: `/v2/lib/app/blobs/uploads/${query}`, headers: { 'content-length': '0' } })).headers.location as string;
      const chunks = [data.slice(0, 1024), data.slice(1024, 2048), data.slice(2048)];
      for (const [i, chunk] of chunks.entries()) {
        const start = i * 1024;
        const headers = { ...octet, ...(ranged ? { 'content-range': `${start}-${start + chunk.length - 1}` } : {}) };
        if (lastInPut && i === chunks.length - 1) {
          const put = await reg.app.inject({ method: 'PUT', url: `${location}?digest=${sha512(data)}`, payload: chunk, headers });
          expect(put.statusCode, put.body).toBe(201);
          break;
        }
        const patch = await reg.app.inject({ method: 'PATCH', url: location, payload: chunk, headers });
        expect(patch.statusCode, patch.body).toBe(202);
        expect(patch.headers.range).toBe(`0-${start + chunk.length - 1}`);
        location = patch.headers.location as string;
      }
      if (!lastInPut) {
        const put = await reg.app.inject({ method: 'PUT', url: `${location}?digest=${sha512(data)}`, headers: { 'content-length': '0' } });
        expect(put.statusCode, put.body).toBe(201);
        expect(put.headers['docker-content-digest']).toBe(sha512(data));
      }
      expect((await reg.app.inject({ method: 'GET', url: `/v2/lib/app/blobs/${sha512(data)}` })).body).toBe(data);
    }
  });

  it('refuses a sha512 closing digest that does not match (400 DIGEST_INVALID), and stores nothing', async () => {
    const wrong = sha512('something else');
    const res = await reg.app.inject({ method: 'POST', url: `/v2/lib/app/blobs/uploads/?digest=${wrong}`, payload: 'actual', headers: octet });
    expectRegistryError(res, { status: 400, code: 'DIGEST_INVALID', message: `Digest mismatch: the uploaded content (6 bytes) has digest "${sha512('actual')}", not "${wrong}"` });
    expect((await head(`/v2/lib/app/blobs/${wrong}`)).status).toBe(404);
    const short = await reg.app.inject({ method: 'POST', url: `/v2/lib/app/blobs/uploads/?digest=sha512:${'a'.repeat(64)}`, payload: 'x', headers: octet });
    expect(errorMessage(short)).toBe(`Invalid checksum digest length: "sha512:${'a'.repeat(64)}" (expected 128 hex characters)`);
  });

  it('mount ?mount=sha512:…&from= links the blob (201); anonymous and missing mounts fall back to a session (202)', async () => {
    const digest = await post512('lib/source', 'shared bytes');
    const mount = await reg.app.inject({ method: 'POST', url: `/v2/lib/target/blobs/uploads/?mount=${digest}&from=lib/source` });
    expect(mount.statusCode).toBe(201);
    expect(mount.headers['docker-content-digest']).toBe(digest);
    expect(mount.headers.location).toBe(`/v2/lib/target/blobs/${digest}`);
    expect(await head(`/v2/lib/target/blobs/${digest}`)).toEqual({ status: 200, digest, length: '12' });
    for (const url of [`/v2/lib/other/blobs/uploads/?mount=${digest}`, `/v2/lib/other/blobs/uploads/?mount=${sha512('missing')}&from=lib/source`]) {
      const res = await reg.app.inject({ method: 'POST', url });
      expect(res.statusCode).toBe(202);
      expect(res.headers.location).toMatch(/^\/v2\/lib\/other\/blobs\/uploads\//);
    }
  });

  it('cancel: DELETE of a sha512 session; DELETE of a sha512 blob unlinks it (202, then 404)', async () => {
    const post = await reg.app.inject({ method: 'POST', url: '/v2/lib/app/blobs/uploads/?digest-algorithm=sha512' });
    expect((await reg.app.inject({ method: 'DELETE', url: post.headers.location as string })).statusCode).toBe(204);
    expect((await reg.app.inject({ method: 'GET', url: post.headers.location as string })).statusCode).toBe(404);
    const digest = await post512('lib/app', 'to delete');
    expect((await reg.app.inject({ method: 'DELETE', url: `/v2/lib/app/blobs/${digest}` })).statusCode).toBe(202);
    expect((await head(`/v2/lib/app/blobs/${digest}`)).status).toBe(404);
  });
});

describe('sha512 manifests', () => {
  it('are pushed by sha512 digest and served by it (GET, HEAD), with tag parameters pointing at the sha512 digest', async () => {
    const image = await pushImage512('lib/app', 'one', ['v1']);
    const get = await reg.app.inject({ method: 'GET', url: `/v2/lib/app/manifests/${image.digest}`, headers: { accept: MediaType.OciManifest } });
    expect(get.statusCode).toBe(200);
    expect(get.body).toBe(image.manifest);
    expect(get.headers['docker-content-digest']).toBe(image.digest);
    expect(await head(`/v2/lib/app/manifests/${image.digest}`)).toEqual({ status: 200, digest: image.digest, length: String(image.manifest.length) });
    const byTag = await reg.app.inject({ method: 'GET', url: '/v2/lib/app/manifests/v1' });
    expect(byTag.headers['docker-content-digest']).toBe(image.digest);
    expect((await reg.app.inject({ method: 'GET', url: '/v2/lib/app/tags/list' })).json()).toEqual({ name: 'lib/app', tags: ['v1'] });
    // Its sha256 is not a name it was stored under.
    expect((await head(`/v2/lib/app/manifests/${sha256(image.manifest)}`)).status).toBe(404);
  });

  it('refuse a body whose sha512 differs from the digest reference, and a descriptor naming a sha512 blob the repository lacks', async () => {
    const image = await pushImage512('lib/app', 'one');
    const res = await putManifest(reg.app, 'lib/app', image.digest, `${image.manifest} `, MediaType.OciManifest);
    expectRegistryError(res, { status: 400, code: 'DIGEST_INVALID', message: `Manifest digest mismatch: the body has digest "${sha512(`${image.manifest} `)}", not "${image.digest}"` });
    const missing = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: sha512('not pushed'), size: 10 },
      layers: [],
    });
    const bad = await putManifest(reg.app, 'lib/app', sha512(missing), missing, MediaType.OciManifest);
    expect(errorCode(bad)).toBe('MANIFEST_BLOB_UNKNOWN');
  });

  it('an index of sha512 images, pushed by its sha512 digest, is negotiated down to its linux/amd64 child', async () => {
    const amd = await pushImage512('lib/multi', 'amd');
    const arm = await pushImage512('lib/multi', 'arm');
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [
        { mediaType: MediaType.OciManifest, digest: arm.digest, size: arm.manifest.length, platform: { os: 'linux', architecture: 'arm64' } },
        { mediaType: MediaType.OciManifest, digest: amd.digest, size: amd.manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
      ],
    });
    const put = await putManifest(reg.app, 'lib/multi', `${sha512(index)}?tag=latest`, index, MediaType.OciIndex);
    expect(put.statusCode, put.body).toBe(201);
    expect((await reg.app.inject({ method: 'GET', url: '/v2/lib/multi/manifests/latest' })).headers['docker-content-digest']).toBe(sha512(index));
    const child = await reg.app.inject({ method: 'GET', url: '/v2/lib/multi/manifests/latest', headers: { accept: MediaType.OciManifest } });
    expect(child.headers['docker-content-digest']).toBe(amd.digest);
  });

  it('referrers of a sha512 subject list sha512 artifacts (OCI-Subject), and deleting by sha512 digest removes manifest, tags and referrer entry', async () => {
    const subject = await pushImage512('lib/app', 'subject', ['v1']);
    const empty = await post512('lib/app', '{}');
    const payload = await post512('lib/app', 'signature');
    const artifact = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType: 'application/vnd.example.sig',
      config: { mediaType: MediaType.OciEmpty, digest: empty, size: 2 },
      layers: [{ mediaType: 'application/octet-stream', digest: payload, size: 9 }],
      subject: { mediaType: MediaType.OciManifest, digest: subject.digest, size: subject.manifest.length },
    });
    const put = await putManifest(reg.app, 'lib/app', sha512(artifact), artifact, MediaType.OciManifest);
    expect(put.statusCode, put.body).toBe(201);
    expect(put.headers['oci-subject']).toBe(subject.digest);
    const list = await reg.app.inject({ method: 'GET', url: `/v2/lib/app/referrers/${subject.digest}` });
    expect(list.statusCode).toBe(200);
    expect(list.json().manifests).toEqual([
      { mediaType: MediaType.OciManifest, digest: sha512(artifact), size: artifact.length, artifactType: 'application/vnd.example.sig' },
    ]);

    expect((await reg.app.inject({ method: 'DELETE', url: `/v2/lib/app/manifests/${sha512(artifact)}` })).statusCode).toBe(202);
    expect((await reg.app.inject({ method: 'GET', url: `/v2/lib/app/referrers/${subject.digest}` })).json().manifests).toEqual([]);
    expect((await reg.app.inject({ method: 'DELETE', url: `/v2/lib/app/manifests/${subject.digest}` })).statusCode).toBe(202);
    expect((await head(`/v2/lib/app/manifests/${subject.digest}`)).status).toBe(404);
    expect((await head('/v2/lib/app/manifests/v1')).status).toBe(404);
  });

  it('gc keeps what a sha512 manifest references and removes sha512 blobs nothing references', async () => {
    const kept = await pushImage512('lib/app', 'kept');
    const dropped = await pushImage512('lib/app', 'dropped');
    const orphan = await post512('lib/app', 'orphan');
    expect((await reg.app.inject({ method: 'DELETE', url: `/v2/lib/app/manifests/${dropped.digest}` })).statusCode).toBe(202);
    const result = await garbageCollect(reg.root, { gracePeriodMs: 0 });
    expect(result.removedBlobs.map((b) => b.digest).sort()).toEqual([dropped.digest, ...dropped.blobs, orphan].sort());
    expect(result.marked).toBe(3);
    for (const d of kept.blobs) expect((await head(`/v2/lib/app/blobs/${d}`)).status).toBe(200);
    expect((await head(`/v2/lib/app/manifests/${kept.digest}`)).status).toBe(200);
    expect((await head(`/v2/lib/app/blobs/${orphan}`)).status).toBe(404);
  });
});
