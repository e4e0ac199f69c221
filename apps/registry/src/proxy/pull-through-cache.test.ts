import { writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { MediaType, sha256 } from '@berth/oci';
import { errorCode, errorMessage, expectRegistryError, type ListeningRegistry, makeTempDir, pushBlob, pushImage, putManifest, startListeningRegistry, startTestRegistry, type TestRegistry } from '../test-support.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => undefined);
});

async function upstreamRegistry(config: Parameters<typeof startListeningRegistry>[0] = {}): Promise<ListeningRegistry> {
  const r = await startListeningRegistry(config);
  cleanups.push(() => r.close());
  return r;
}

async function proxyOf(upstream: ListeningRegistry, credentials: { username?: string; password?: string } = {}): Promise<TestRegistry> {
  const r = await startTestRegistry({ proxy: { remoteUrl: upstream.url, ...credentials } });
  cleanups.push(() => r.close());
  return r;
}

describe('pull-through cache mode', () => {
  it('pulls manifests and blobs through, then serves them from the cache when the upstream is gone', async () => {
    const upstream = await upstreamRegistry();
    const image = await pushImage(upstream.app, 'library/busybox', 'latest', { layers: ['layer one', 'layer two'] });
    const proxy = await proxyOf(upstream);

    const pull = async () => {
      const m = await proxy.app.inject({ method: 'GET', url: '/v2/library/busybox/manifests/latest' });
      expect(m.statusCode, m.body).toBe(200);
      expect(m.headers['docker-content-digest']).toBe(image.digest);
      expect(m.rawPayload.equals(image.manifest)).toBe(true);
      const byDigest = await proxy.app.inject({ method: 'HEAD', url: `/v2/library/busybox/manifests/${image.digest}` });
      expect(byDigest.statusCode).toBe(200);
      const blobs: string[] = [];
      for (const digest of [image.config, ...image.layers]) {
        const b = await proxy.app.inject({ method: 'GET', url: `/v2/library/busybox/blobs/${digest}` });
        expect(b.statusCode, b.body).toBe(200);
        expect(sha256(b.rawPayload)).toBe(digest);
        expect(b.headers['content-length']).toBe(String(b.rawPayload.length));
        blobs.push(b.body);
      }
      return blobs;
    };
    const first = await pull();
    expect(first.slice(1)).toEqual(['layer one', 'layer two']);

    await upstream.stop();
    expect(await pull()).toEqual(first);
    // What the cache never saw stays unknown, with the reason.
    const missing = await proxy.app.inject({ method: 'GET', url: `/v2/library/busybox/blobs/${sha256('never pulled')}` });
    expect(missing.statusCode).toBe(502);
    expect(errorMessage(missing)).toMatch(
      new RegExp(`^Blob "${sha256('never pulled')}" of "library/busybox" is not cached and the upstream registry ${upstream.url} is unavailable: `),
    );
  });

  it('follows a moved tag upstream, answers unknown tags with MANIFEST_UNKNOWN, and serves HEAD of an uncached blob', async () => {
    const upstream = await upstreamRegistry();
    const v1 = await pushImage(upstream.app, 'app', 'stable', { layers: ['v1'] });
    const proxy = await proxyOf(upstream);
    const get = (url: string, method: 'GET' | 'HEAD' = 'GET') => proxy.app.inject({ method, url });

    expect((await get('/v2/app/manifests/stable')).headers['docker-content-digest']).toBe(v1.digest);
    const v2 = await pushImage(upstream.app, 'app', 'stable', { layers: ['v2'] });
    const head = await get('/v2/app/manifests/stable', 'HEAD');
    expect(head.headers['docker-content-digest']).toBe(v2.digest);

    const unknown = await get('/v2/app/manifests/nope');
    expectRegistryError(unknown, { status: 404, code: 'MANIFEST_UNKNOWN' });
    expect(errorMessage(unknown)).toMatch(/^Manifest "nope" of "app" is unknown upstream \(http:\/\/127\.0\.0\.1:\d+\): manifest for /);

    const blobHead = await get(`/v2/app/blobs/${v2.layers[0]}`, 'HEAD');
    expect(blobHead.statusCode).toBe(200);
    expect(blobHead.headers['content-length']).toBe('2');
    // ... and it is cached: the catalog of the proxy now lists the repository
    expect((await get('/v2/_catalog')).json()).toEqual({ repositories: ['app'] });
    expect(errorCode(await get(`/v2/app/blobs/${sha256('nowhere')}`))).toBe('BLOB_UNKNOWN');
  });

  it('never caches a blob whose upstream bytes do not match its digest, and cuts the response short', async () => {
    const upstream = await upstreamRegistry();
    const image = await pushImage(upstream.app, 'app', 'v1', { layers: ['the real bytes'] });
    const layer = image.layers[0]!;
    const hex = layer.slice('sha256:'.length);
    writeFileSync(join(upstream.root, 'blobs', 'sha256', hex.slice(0, 2), hex, 'data'), 'the fake bytes');
    const proxy = await proxyOf(upstream);

    const res = await proxy.app.inject({ method: 'GET', url: `/v2/app/blobs/${layer}` }).catch((err: Error) => err);
    if (!(res instanceof Error)) expect(res.body).not.toBe('the fake bytes'); // the stream was destroyed, not ended
    await upstream.stop();
    const again = await proxy.app.inject({ method: 'HEAD', url: `/v2/app/blobs/${layer}` });
    expect(again.statusCode, again.body).toBe(502);
  });

  it('refuses pushes and deletes with UNSUPPORTED (405)', async () => {
    const upstream = await upstreamRegistry();
    const proxy = await proxyOf(upstream);
    const upload = await proxy.app.inject({ method: 'POST', url: '/v2/app/blobs/uploads/' });
    expectRegistryError(upload, { status: 405, code: 'UNSUPPORTED', message: `This registry is a pull-through cache of ${upstream.url}: POST is not supported, push to the upstream registry instead` });
    expect((await putManifest(proxy.app, 'app', 'v1', '{}', MediaType.OciManifest)).statusCode).toBe(405);
    expect((await proxy.app.inject({ method: 'DELETE', url: '/v2/app/manifests/v1' })).statusCode).toBe(405);
    await expect(pushBlob(proxy.app, 'app', 'x')).rejects.toThrow(/^push blob: 405 /);
  });

  it('authenticates to the upstream with --proxy-username/--proxy-password', async () => {
    const dir = await makeTempDir();
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const htpasswd = join(dir, 'htpasswd');
    writeFileSync(htpasswd, `bob:${bcrypt.hashSync('pw', 4).replace(/^\$2[ab]\$/, '$2y$')}\n`);
    const upstream = await upstreamRegistry({ auth: 'basic', htpasswd, root: join(dir, 'root') });
    const auth = { authorization: `Basic ${Buffer.from('bob:pw').toString('base64')}` };
    const image = await pushImage(upstream.app, 'private', 'v1', { headers: auth });

    const anonymous = await proxyOf(upstream);
    const denied = await anonymous.app.inject({ method: 'GET', url: '/v2/private/manifests/v1' });
    expect(denied.statusCode).toBe(502);
    expect(errorMessage(denied)).toMatch(/could not be fetched from .*: unauthorized: /);

    const withCredentials = await proxyOf(upstream, { username: 'bob', password: 'pw' });
    const ok = await withCredentials.app.inject({ method: 'GET', url: '/v2/private/manifests/v1' });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.headers['docker-content-digest']).toBe(image.digest);
  });
});
