import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256 } from '@berth/oci';
import { errorCode, expectRegistryError, type ListeningRegistry, pushBlob, startListeningRegistry, startTestRegistry, type TestRegistry } from '../test-support.js';
import { parseRange } from './blobs.js';

let reg: TestRegistry;
afterEach(async () => {
  await reg.close();
});

describe('blob reads', () => {
  beforeEach(async () => {
    reg = await startTestRegistry();
  });

  it('HEAD gives Content-Length and Docker-Content-Digest without a body', async () => {
    const digest = await pushBlob(reg.app, 'lib/x', '0123456789');
    const res = await reg.app.inject({ method: 'HEAD', url: `/v2/lib/x/blobs/${digest}` });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe('10');
    expect(res.headers['docker-content-digest']).toBe(digest);
    expect(res.headers['docker-distribution-api-version']).toBe('registry/2.0');
    expect(res.body).toBe('');
  });

  it('serve byte ranges with 206 and Content-Range, 416 when unsatisfiable', async () => {
    const digest = await pushBlob(reg.app, 'lib/x', '0123456789');
    let res = await reg.app.inject({ method: 'GET', url: `/v2/lib/x/blobs/${digest}`, headers: { range: 'bytes=2-5' } });
    expect(res.statusCode).toBe(206);
    expect(res.body).toBe('2345');
    expect(res.headers['content-range']).toBe('bytes 2-5/10');
    res = await reg.app.inject({ method: 'GET', url: `/v2/lib/x/blobs/${digest}`, headers: { range: 'bytes=7-' } });
    expect(res.body).toBe('789');
    res = await reg.app.inject({ method: 'GET', url: `/v2/lib/x/blobs/${digest}`, headers: { range: 'bytes=-2' } });
    expect(res.body).toBe('89');
    res = await reg.app.inject({ method: 'GET', url: `/v2/lib/x/blobs/${digest}`, headers: { range: 'bytes=10-12' } });
    expect(res.statusCode).toBe(416);
    expect(res.headers['content-range']).toBe('bytes */10');
  });

  it('answer 404 BLOB_UNKNOWN for a missing blob', async () => {
    await pushBlob(reg.app, 'lib/x', 'a');
    const res = await reg.app.inject({ method: 'GET', url: `/v2/lib/x/blobs/${sha256('b')}` });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      errors: [{ code: 'BLOB_UNKNOWN', message: `Blob "${sha256('b')}" is unknown in repository "lib/x"`, detail: { digest: sha256('b') } }],
    });
  });

  it('refuse DELETE with 405 UNSUPPORTED unless deletion is enabled', async () => {
    const digest = await pushBlob(reg.app, 'lib/x', 'a');
    const res = await reg.app.inject({ method: 'DELETE', url: `/v2/lib/x/blobs/${digest}` });
    expectRegistryError(res, { status: 405, code: 'UNSUPPORTED', message: 'Deletion is disabled on this registry: start it with --delete-enabled' });
  });
});

describe('blob deletion', () => {
  beforeEach(async () => {
    reg = await startTestRegistry({ deleteEnabled: true });
  });

  it('unlinks the blob from the repository (202), then 404', async () => {
    const digest = await pushBlob(reg.app, 'lib/x', 'a');
    await pushBlob(reg.app, 'lib/y', 'a');
    expect((await reg.app.inject({ method: 'DELETE', url: `/v2/lib/x/blobs/${digest}` })).statusCode).toBe(202);
    expect((await reg.app.inject({ method: 'HEAD', url: `/v2/lib/x/blobs/${digest}` })).statusCode).toBe(404);
    expect((await reg.app.inject({ method: 'HEAD', url: `/v2/lib/y/blobs/${digest}` })).statusCode).toBe(200);
    expect(errorCode(await reg.app.inject({ method: 'DELETE', url: `/v2/lib/x/blobs/${digest}` }))).toBe('BLOB_UNKNOWN');
  });
});

describe('parseRange', () => {
  it('handles the single-range forms and ignores the rest', () => {
    expect(parseRange('bytes=0-0', 5)).toEqual({ start: 0, end: 0 });
    expect(parseRange('bytes=3-100', 5)).toEqual({ start: 3, end: 4 });
    expect(parseRange('bytes=-10', 5)).toEqual({ start: 0, end: 4 });
    expect(parseRange('bytes=0-1,3-4', 5)).toBeUndefined();
    expect(parseRange('items=0-1', 5)).toBeUndefined();
    expect(parseRange('bytes=5-', 5)).toBe('unsatisfiable');
    expect(parseRange('bytes=3-2', 5)).toBe('unsatisfiable');
  });
});

describe('blob downloads over a socket (send-file.ts)', () => {
  let listening: ListeningRegistry;
  afterEach(async () => {
    await listening?.stop();
  });

  it('serve multi-chunk blobs and ranges across chunk boundaries byte for byte, and survive a client that goes away', async () => {
    listening = await startListeningRegistry();
    reg = listening;
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const digest = await pushBlob(listening.app, 'lib/big', data);
    const url = `${listening.url}/v2/lib/big/blobs/${digest}`;
    const whole = await fetch(url);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-length')).toBe(String(data.length));
    expect(whole.headers.get('docker-content-digest')).toBe(digest);
    expect(Buffer.from(await whole.arrayBuffer()).equals(data)).toBe(true);

    const start = 1024 * 1024 - 5;
    const end = 2 * 1024 * 1024 + 9;
    const part = await fetch(url, { headers: { range: `bytes=${start}-${end}` } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes ${start}-${end}/${data.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(start, end + 1))).toBe(true);

    // A client that reads a little and hangs up mid-blob: the server stops, and serves the next one whole.
    const controller = new AbortController();
    const aborted = await fetch(url, { signal: controller.signal });
    const reader = aborted.body!.getReader();
    await reader.read();
    controller.abort();
    await reader.read().catch(() => undefined); // the abort rejects the pending read
    const again = await fetch(url);
    expect(Buffer.from(await again.arrayBuffer()).equals(data)).toBe(true);
  });
});
