import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MediaType, sha256 } from '@berth/oci';
import { pushBlob, pushImage, putManifest, startTestRegistry, type TestRegistry } from '../test-support.js';

let reg: TestRegistry;
beforeEach(async () => {
  reg = await startTestRegistry({ deleteEnabled: true });
});
afterEach(async () => {
  await reg.close();
});

describe('tags list', () => {
  it('is sorted ASCII-betically and paginates with n / last and a Link header', async () => {
    const image = await pushImage(reg.app, 'lib/app', 'b');
    for (const tag of ['a', 'C', 'c', 'd']) await putManifest(reg.app, 'lib/app', tag, image.manifest, MediaType.OciManifest);
    expect((await reg.app.inject({ method: 'GET', url: '/v2/lib/app/tags/list' })).json().tags).toEqual(['C', 'a', 'b', 'c', 'd']);

    let res = await reg.app.inject({ method: 'GET', url: '/v2/lib/app/tags/list?n=2' });
    expect(res.json()).toEqual({ name: 'lib/app', tags: ['C', 'a'] });
    expect(res.headers.link).toBe('</v2/lib/app/tags/list?n=2&last=a>; rel="next"');
    res = await reg.app.inject({ method: 'GET', url: '/v2/lib/app/tags/list?n=2&last=a' });
    expect(res.json().tags).toEqual(['b', 'c']);
    res = await reg.app.inject({ method: 'GET', url: '/v2/lib/app/tags/list?n=2&last=c' });
    expect(res.json().tags).toEqual(['d']);
    expect(res.headers.link).toBeUndefined();
    res = await reg.app.inject({ method: 'GET', url: '/v2/lib/app/tags/list?n=0' });
    expect(res.json().tags).toEqual([]);
    expect(res.headers.link).toBeUndefined();
    res = await reg.app.inject({ method: 'GET', url: '/v2/lib/app/tags/list?last=b' });
    expect(res.json().tags).toEqual(['c', 'd']);
    res = await reg.app.inject({ method: 'GET', url: '/v2/lib/app/tags/list?n=x' });
    expect(res.statusCode).toBe(400);
  });

  it('is 404 NAME_UNKNOWN for an unknown repository', async () => {
    const res = await reg.app.inject({ method: 'GET', url: '/v2/nope/tags/list' });
    expect(res.statusCode).toBe(404);
    expect(res.json().errors[0].code).toBe('NAME_UNKNOWN');
  });
});

describe('catalog', () => {
  it('lists nested repositories in order with n / last pagination', async () => {
    for (const name of ['zeta', 'alpha/one', 'alpha', 'alpha/one/deep']) await pushImage(reg.app, name, 'v1');
    await pushBlob(reg.app, 'blobs-only', 'x');
    let res = await reg.app.inject({ method: 'GET', url: '/v2/_catalog' });
    expect(res.json()).toEqual({ repositories: ['alpha', 'alpha/one', 'alpha/one/deep', 'blobs-only', 'zeta'] });
    res = await reg.app.inject({ method: 'GET', url: '/v2/_catalog?n=2' });
    expect(res.json().repositories).toEqual(['alpha', 'alpha/one']);
    expect(res.headers.link).toBe('</v2/_catalog?n=2&last=alpha%2Fone>; rel="next"');
    res = await reg.app.inject({ method: 'GET', url: '/v2/_catalog?n=2&last=alpha%2Fone' });
    expect(res.json().repositories).toEqual(['alpha/one/deep', 'blobs-only']);
  });
});

describe('referrers', () => {
  async function pushArtifact(subject: { digest: string; size: number }, artifactType: string | undefined, tag: string): Promise<{ digest: string; res: { headers: Record<string, unknown> } }> {
    const config = await pushBlob(reg.app, 'lib/app', '{}');
    const layer = await pushBlob(reg.app, 'lib/app', `payload ${tag}`);
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      ...(artifactType ? { artifactType } : {}),
      config: { mediaType: artifactType ? MediaType.OciEmpty : 'application/vnd.example.config+json', digest: config, size: 2 },
      layers: [{ mediaType: 'application/octet-stream', digest: layer, size: Buffer.byteLength(`payload ${tag}`) }],
      subject: { mediaType: MediaType.OciManifest, digest: subject.digest, size: subject.size },
      annotations: { 'org.example.tag': tag },
    });
    const res = await putManifest(reg.app, 'lib/app', tag, body, MediaType.OciManifest);
    expect(res.statusCode).toBe(201);
    return { digest: sha256(body), res };
  }

  it('lists manifests whose subject is the digest, with artifactType filtering', async () => {
    const image = await pushImage(reg.app, 'lib/app', 'v1');
    const subject = { digest: image.digest, size: image.manifest.length };
    const sbom = await pushArtifact(subject, 'application/vnd.example.sbom', 'sbom');
    expect(sbom.res.headers['oci-subject']).toBe(image.digest);
    const sig = await pushArtifact(subject, undefined, 'sig');

    let res = await reg.app.inject({ method: 'GET', url: `/v2/lib/app/referrers/${image.digest}` });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe(MediaType.OciIndex);
    const manifests = res.json().manifests as Array<{ digest: string; artifactType: string; annotations: Record<string, string> }>;
    expect(manifests.map((m) => m.digest).sort()).toEqual([sbom.digest, sig.digest].sort());
    expect(manifests.find((m) => m.digest === sig.digest)?.artifactType).toBe('application/vnd.example.config+json');
    expect(manifests.find((m) => m.digest === sbom.digest)?.annotations).toEqual({ 'org.example.tag': 'sbom' });

    res = await reg.app.inject({ method: 'GET', url: `/v2/lib/app/referrers/${image.digest}?artifactType=application/vnd.example.sbom` });
    expect(res.headers['oci-filters-applied']).toBe('artifactType');
    expect(res.json().manifests.map((m: { digest: string }) => m.digest)).toEqual([sbom.digest]);

    await reg.app.inject({ method: 'DELETE', url: `/v2/lib/app/manifests/${sbom.digest}` });
    res = await reg.app.inject({ method: 'GET', url: `/v2/lib/app/referrers/${image.digest}` });
    expect(res.json().manifests.map((m: { digest: string }) => m.digest)).toEqual([sig.digest]);
  });

  it('accepts a subject that does not exist yet and answers an empty index, never 404', async () => {
    const subject = { digest: sha256('future'), size: 6 };
    await pushImage(reg.app, 'lib/app', 'v1');
    await pushArtifact(subject, 'application/vnd.example.sbom', 'early');
    const res = await reg.app.inject({ method: 'GET', url: `/v2/lib/unknown/referrers/${sha256('x')}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] });
    expect((await reg.app.inject({ method: 'GET', url: '/v2/lib/app/referrers/sha256:bad' })).statusCode).toBe(400);
  });
});
