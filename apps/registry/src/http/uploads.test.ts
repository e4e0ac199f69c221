import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256 } from '@berth/oci';
import { errorCode, errorMessage, expectRegistryError, pushBlob, startTestRegistry, type TestRegistry } from '../test-support.js';

let reg: TestRegistry;
beforeEach(async () => {
  reg = await startTestRegistry();
});
afterEach(async () => {
  await reg.close();
});

const octet = { 'content-type': 'application/octet-stream' };

async function startUpload(name = 'app/web'): Promise<string> {
  const res = await reg.app.inject({ method: 'POST', url: `/v2/${name}/blobs/uploads/`, headers: { 'content-length': '0' } });
  expect(res.statusCode).toBe(202);
  return res.headers.location as string;
}

describe('blob uploads', () => {
  it('start a session with 202, Location, Docker-Upload-UUID and Range', async () => {
    const res = await reg.app.inject({ method: 'POST', url: '/v2/app/web/blobs/uploads/' });
    expect(res.statusCode).toBe(202);
    const uuid = res.headers['docker-upload-uuid'] as string;
    expect(uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.location).toBe(`/v2/app/web/blobs/uploads/${uuid}`);
    expect(res.headers.range).toBe('0-0');
  });

  it('store a blob in a single POST ?digest=', async () => {
    const digest = await pushBlob(reg.app, 'app/web', 'hello');
    const res = await reg.app.inject({ method: 'GET', url: `/v2/app/web/blobs/${digest}` });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('hello');
    expect(res.headers['docker-content-digest']).toBe(digest);
  });

  it('store a blob with POST then PUT ?digest= carrying the body', async () => {
    const location = await startUpload();
    const digest = sha256('monolithic');
    const res = await reg.app.inject({ method: 'PUT', url: `${location}?digest=${digest}`, payload: 'monolithic', headers: octet });
    expect(res.statusCode).toBe(201);
    expect(res.headers.location).toBe(`/v2/app/web/blobs/${digest}`);
    expect(res.headers['docker-content-digest']).toBe(digest);
    expect((await reg.app.inject({ method: 'GET', url: `/v2/app/web/blobs/${digest}` })).body).toBe('monolithic');
  });

  it('append chunks with Content-Range, report the offset, and close with an empty PUT', async () => {
    const location = await startUpload();
    let res = await reg.app.inject({ method: 'PATCH', url: location, payload: 'abc', headers: { ...octet, 'content-range': '0-2' } });
    expect(res.statusCode).toBe(202);
    expect(res.headers.range).toBe('0-2');
    res = await reg.app.inject({ method: 'PATCH', url: location, payload: 'defg', headers: { ...octet, 'content-range': '3-6' } });
    expect(res.headers.range).toBe('0-6');
    res = await reg.app.inject({ method: 'GET', url: location });
    expect(res.statusCode).toBe(204);
    expect(res.headers.range).toBe('0-6');
    expect(res.headers.location).toBe(location);
    res = await reg.app.inject({ method: 'PUT', url: `${location}?digest=${sha256('abcdefg')}` });
    expect(res.statusCode).toBe(201);
    expect((await reg.app.inject({ method: 'GET', url: `/v2/app/web/blobs/${sha256('abcdefg')}` })).body).toBe('abcdefg');
  });

  it('accept streamed PATCH chunks without Content-Range and a final chunk in the PUT', async () => {
    const location = await startUpload();
    await reg.app.inject({ method: 'PATCH', url: location, payload: 'one-', headers: octet });
    const res = await reg.app.inject({ method: 'PUT', url: `${location}?digest=${sha256('one-two')}`, payload: 'two', headers: { ...octet, 'content-range': '4-6' } });
    expect(res.statusCode).toBe(201);
  });

  it('answer an out-of-order chunk with 416 and the current Range', async () => {
    const location = await startUpload();
    await reg.app.inject({ method: 'PATCH', url: location, payload: 'abc', headers: { ...octet, 'content-range': '0-2' } });
    const res = await reg.app.inject({ method: 'PATCH', url: location, payload: 'xyz', headers: { ...octet, 'content-range': '5-7' } });
    expectRegistryError(res, { status: 416, code: 'BLOB_UPLOAD_INVALID', message: `Chunk out of order: Content-Range starts at 5 but upload "${location.split('/').pop()}" has 3 bytes, resume at offset 3` });
    expect(res.headers.range).toBe('0-2');
    // The session is intact and resumable.
    const put = await reg.app.inject({ method: 'PUT', url: `${location}?digest=${sha256('abcdef')}`, payload: 'def', headers: { ...octet, 'content-range': '3-5' } });
    expect(put.statusCode).toBe(201);
  });

  it('answer a chunk whose length differs from its Content-Range with 416, and append none of it', async () => {
    const location = await startUpload();
    await reg.app.inject({ method: 'PATCH', url: location, payload: 'abc', headers: { ...octet, 'content-range': '0-2' } });
    for (const [payload, range] of [['de', '3-6'], ['defgh', '3-6']] as const) {
      const res = await reg.app.inject({ method: 'PATCH', url: location, payload, headers: { ...octet, 'content-range': range } });
      expectRegistryError(res, { status: 416, code: 'BLOB_UPLOAD_INVALID', message: `Content-Range ${range} announces 4 bytes but ${payload.length} were received: the chunk was not appended, resume at offset 3` });
      expect(res.headers.range).toBe('0-2');
      const status = await reg.app.inject({ method: 'GET', url: location });
      expect(status.headers.range).toBe('0-2');
    }
    // The rejected bytes are not in the blob: resuming at 3 gives exactly "abcdefg".
    await reg.app.inject({ method: 'PATCH', url: location, payload: 'defg', headers: { ...octet, 'content-range': '3-6' } });
    const put = await reg.app.inject({ method: 'PUT', url: `${location}?digest=${sha256('abcdefg')}` });
    expect(put.statusCode).toBe(201);
    expect((await reg.app.inject({ method: 'GET', url: `/v2/app/web/blobs/${sha256('abcdefg')}` })).body).toBe('abcdefg');
  });

  it('reject a wrong digest with 400 DIGEST_INVALID and store nothing', async () => {
    const wrong = sha256('something else');
    const res = await reg.app.inject({ method: 'POST', url: `/v2/app/web/blobs/uploads/?digest=${wrong}`, payload: 'actual', headers: octet });
    expectRegistryError(res, { status: 400, code: 'DIGEST_INVALID', message: `Digest mismatch: the uploaded content (6 bytes) has digest "${sha256('actual')}", not "${wrong}"` });
    expect((await reg.app.inject({ method: 'HEAD', url: `/v2/app/web/blobs/${wrong}` })).statusCode).toBe(404);
    expect((await reg.app.inject({ method: 'HEAD', url: `/v2/app/web/blobs/${sha256('actual')}` })).statusCode).toBe(404);
    expect(await readdir(join(reg.root, 'blobs', 'sha256')).catch(() => [])).toEqual([]);
    expect(await readdir(join(reg.root, 'repositories', 'app', 'web', '_uploads'))).toEqual([]);

    const location = await startUpload();
    const put = await reg.app.inject({ method: 'PUT', url: `${location}?digest=${wrong}`, payload: 'actual', headers: octet });
    expect(errorCode(put)).toBe('DIGEST_INVALID');
    expect((await reg.app.inject({ method: 'GET', url: location })).statusCode).toBe(404);
  });

  it('reject malformed and unsupported digests with 400', async () => {
    let res = await reg.app.inject({ method: 'POST', url: '/v2/app/web/blobs/uploads/?digest=sha256:abc', payload: 'x', headers: octet });
    expect(res.statusCode).toBe(400);
    expect(errorMessage(res)).toBe('Invalid checksum digest length: "sha256:abc" (expected 64 hex characters)');
    res = await reg.app.inject({ method: 'POST', url: `/v2/app/web/blobs/uploads/?digest=md5:${'a'.repeat(32)}`, payload: 'x', headers: octet });
    expectRegistryError(res, { status: 400, code: 'DIGEST_INVALID', message: `Unsupported digest algorithm: "md5:${'a'.repeat(32)}"` });
    res = await reg.app.inject({ method: 'POST', url: '/v2/app/web/blobs/uploads/?digest-algorithm=md5' });
    expect(res.statusCode).toBe(400);
    expect(errorMessage(res)).toBe('Unsupported digest-algorithm "md5": expected sha256 or sha512');
    const location = await startUpload();
    res = await reg.app.inject({ method: 'PUT', url: location });
    expect(errorMessage(res)).toBe('Missing "digest" query parameter: close an upload with PUT <location>?digest=<digest>');
  });

  it('cancel a session with DELETE, after which it is unknown', async () => {
    const location = await startUpload();
    expect((await reg.app.inject({ method: 'DELETE', url: location })).statusCode).toBe(204);
    const res = await reg.app.inject({ method: 'GET', url: location });
    expectRegistryError(res, { status: 404, code: 'BLOB_UPLOAD_UNKNOWN' });
    // A session id is never used as a path: `../..` is simply unknown.
    expect(errorCode(await reg.app.inject({ method: 'PATCH', url: '/v2/app/web/blobs/uploads/..%2F..%2Fx', payload: 'a' }))).toBe('BLOB_UPLOAD_UNKNOWN');
  });

  it('mount a blob from another repository (201), else fall back to a session (202)', async () => {
    const digest = await pushBlob(reg.app, 'base/os', 'shared layer');
    let res = await reg.app.inject({ method: 'POST', url: `/v2/app/web/blobs/uploads/?mount=${digest}&from=base/os` });
    expect(res.statusCode).toBe(201);
    expect(res.headers.location).toBe(`/v2/app/web/blobs/${digest}`);
    expect(res.headers['docker-content-digest']).toBe(digest);
    expect((await reg.app.inject({ method: 'GET', url: `/v2/app/web/blobs/${digest}` })).body).toBe('shared layer');

    res = await reg.app.inject({ method: 'POST', url: `/v2/app/other/blobs/uploads/?mount=${sha256('missing')}&from=base/os` });
    expect(res.statusCode).toBe(202);
    expect(res.headers['docker-upload-uuid']).toBeDefined();
  });

  it('keep blobs of one repository invisible from another', async () => {
    const digest = await pushBlob(reg.app, 'team/a', 'private');
    const res = await reg.app.inject({ method: 'GET', url: `/v2/team/b/blobs/${digest}` });
    expectRegistryError(res, { status: 404, code: 'BLOB_UNKNOWN' });
  });
});
