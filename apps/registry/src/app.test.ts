import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { matchEndpoint } from './http/route-match.js';
import { startTestRegistry, type TestRegistry } from './test-support.js';

let reg: TestRegistry;
beforeEach(async () => {
  reg = await startTestRegistry();
});
afterEach(async () => {
  await reg.close();
});

describe('the registry app', () => {
  it('answers GET /v2/ with 200 and Docker-Distribution-API-Version', async () => {
    const res = await reg.app.inject({ method: 'GET', url: '/v2/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['docker-distribution-api-version']).toBe('registry/2.0');
    expect(res.json()).toEqual({});
  });

  it('rejects invalid repository names with 400 NAME_INVALID', async () => {
    const res = await reg.app.inject({ method: 'GET', url: '/v2/Upper/Case/tags/list' });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0]).toMatchObject({
      code: 'NAME_INVALID',
      message: 'Invalid repository name "Upper/Case": use at most 229 characters of lowercase components [a-z0-9] separated by ".", "_", "__", "-" or "/"',
    });
  });

  it('answers unknown endpoints with 404 and unsupported methods with 405, in the JSON error format', async () => {
    let res = await reg.app.inject({ method: 'GET', url: '/v3/' });
    expect(res.statusCode).toBe(404);
    expect(res.json().errors[0].code).toBe('UNSUPPORTED');
    res = await reg.app.inject({ method: 'POST', url: '/v2/lib/app/tags/list' });
    expect(res.statusCode).toBe(405);
    expect(res.json().errors[0].message).toBe('Method POST is not supported on "/v2/lib/app/tags/list"');
  });
});

describe('matchEndpoint', () => {
  it('splits names with slashes from the endpoint suffix', () => {
    expect(matchEndpoint('/v2/')).toEqual({ kind: 'base' });
    expect(matchEndpoint('/v2/_catalog')).toEqual({ kind: 'catalog' });
    expect(matchEndpoint('/v2/a/b/c/manifests/latest')).toEqual({ kind: 'manifest', name: 'a/b/c', reference: 'latest' });
    expect(matchEndpoint('/v2/a/blobs/uploads/')).toEqual({ kind: 'uploads', name: 'a' });
    expect(matchEndpoint('/v2/a/blobs/uploads/u-1')).toEqual({ kind: 'upload', name: 'a', uuid: 'u-1' });
    expect(matchEndpoint('/v2/x/blobs/blobs/sha256%3Aab')).toEqual({ kind: 'blob', name: 'x/blobs', digest: 'sha256:ab' });
    expect(matchEndpoint('/v2/a/tags/list')).toEqual({ kind: 'tags', name: 'a' });
    expect(matchEndpoint('/v2/a/referrers/sha256:ab')).toEqual({ kind: 'referrers', name: 'a', digest: 'sha256:ab' });
    expect(matchEndpoint('/v2/a')).toBeUndefined();
  });
});
