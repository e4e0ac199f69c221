import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir, pushBlob, startTestRegistry, type TestRegistry } from '../test-support.js';

let reg: TestRegistry | undefined;
afterEach(async () => {
  await reg?.close();
  reg = undefined;
});

/** An htpasswd file as `htpasswd -B` writes it ($2y$), plus an access file, in a fresh root. */
async function authRoot(): Promise<{ root: string; htpasswd: string; accessFile: string }> {
  const root = await makeTempDir();
  const htpasswd = join(root, 'htpasswd');
  const line = (user: string, pw: string) => `${user}:${bcrypt.hashSync(pw, 4).replace(/^\$2[ab]\$/, '$2y$')}`;
  await writeFile(htpasswd, `${line('alice', 'alicepw')}\n${line('bob', 'bobpw')}\n`);
  const accessFile = join(root, 'access.yaml');
  await writeFile(accessFile, ['alice:', '  "*": ["*"]', 'bob:', '  "bob/*": [pull, push]', '  "shared/*": [pull]', ''].join('\n'));
  return { root, htpasswd, accessFile };
}

const basic = (user: string, pw: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}` });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const code = (res: LightMyRequestResponse) => res.json().errors[0].code as string;

describe('basic auth', () => {
  it('challenges anonymous clients with 401 and WWW-Authenticate: Basic', async () => {
    reg = await startTestRegistry({ auth: 'basic', ...(await authRoot()) });
    const res = await reg.app.inject({ method: 'GET', url: '/v2/' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Basic realm="Berth Registry"');
    expect(code(res)).toBe('UNAUTHORIZED');
    expect((await reg.app.inject({ method: 'GET', url: '/v2/', headers: basic('alice', 'wrong') })).statusCode).toBe(401);
    expect((await reg.app.inject({ method: 'GET', url: '/v2/', headers: basic('alice', 'alicepw') })).statusCode).toBe(200);
  });

  it('applies the access file: 403 DENIED when authenticated but not allowed', async () => {
    reg = await startTestRegistry({ auth: 'basic', ...(await authRoot()) });
    await pushBlob(reg.app, 'bob/app', 'mine', basic('bob', 'bobpw'));
    const digest = await pushBlob(reg.app, 'shared/base', 'base', basic('alice', 'alicepw'));
    expect((await reg.app.inject({ method: 'GET', url: `/v2/shared/base/blobs/${digest}`, headers: basic('bob', 'bobpw') })).statusCode).toBe(200);
    const res = await reg.app.inject({ method: 'POST', url: '/v2/shared/base/blobs/uploads/', headers: basic('bob', 'bobpw') });
    expect(res.statusCode).toBe(403);
    expect(res.json().errors[0]).toEqual({
      code: 'DENIED',
      message: `User "bob" may not repository:shared/base:pull,push: ask for it in the registry's access file`,
      detail: [
        { Type: 'repository', Name: 'shared/base', Action: 'pull' },
        { Type: 'repository', Name: 'shared/base', Action: 'push' },
      ],
    });
  });

  it('lets anonymous clients pull, and only pull, with anonymousPull', async () => {
    reg = await startTestRegistry({ auth: 'basic', anonymousPull: true, ...(await authRoot()) });
    const digest = await pushBlob(reg.app, 'shared/base', 'base', basic('alice', 'alicepw'));
    expect((await reg.app.inject({ method: 'GET', url: '/v2/' })).statusCode).toBe(200);
    expect((await reg.app.inject({ method: 'GET', url: `/v2/shared/base/blobs/${digest}` })).statusCode).toBe(200);
    const push = await reg.app.inject({ method: 'POST', url: '/v2/shared/base/blobs/uploads/' });
    expect(push.statusCode).toBe(401);
    expect(code(push)).toBe('UNAUTHORIZED');
  });
});

describe('token auth', () => {
  async function getToken(query: string, headers: Record<string, string> = {}): Promise<string> {
    const res = await reg!.app.inject({ method: 'GET', url: `/auth/token?service=berth-registry&${query}`, headers });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.access_token).toBe(body.token);
    expect(body.expires_in).toBeGreaterThanOrEqual(60);
    return body.token as string;
  }
  const claims = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());

  it('challenges with a Bearer realm, service and the scope the request needs', async () => {
    reg = await startTestRegistry({ auth: 'token', ...(await authRoot()) });
    let res = await reg.app.inject({ method: 'GET', url: '/v2/', headers: { host: 'reg.test:5000' } });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="http://reg.test:5000/auth/token",service="berth-registry"');
    res = await reg.app.inject({ method: 'POST', url: '/v2/bob/app/blobs/uploads/', headers: { host: 'reg.test:5000' } });
    expect(res.headers['www-authenticate']).toBe(
      'Bearer realm="http://reg.test:5000/auth/token",service="berth-registry",scope="repository:bob/app:pull,push"',
    );
  });

  it('issues ES256 tokens granting the intersection of the requested scope and the policy', async () => {
    reg = await startTestRegistry({ auth: 'token', ...(await authRoot()) });
    const token = await getToken('scope=repository:bob/app:pull,push,delete&scope=repository:shared/x:pull,push', basic('bob', 'bobpw'));
    const header = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString());
    expect(header).toMatchObject({ typ: 'JWT', alg: 'ES256' });
    expect(header.kid).toMatch(/^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
    expect(claims(token)).toMatchObject({
      sub: 'bob',
      aud: 'berth-registry',
      access: [
        { type: 'repository', name: 'bob/app', actions: ['pull', 'push'] },
        { type: 'repository', name: 'shared/x', actions: ['pull'] },
      ],
    });

    expect((await reg.app.inject({ method: 'POST', url: '/v2/bob/app/blobs/uploads/', headers: bearer(token) })).statusCode).toBe(202);
    const denied = await reg.app.inject({ method: 'POST', url: '/v2/shared/x/blobs/uploads/', headers: bearer(token) });
    expect(denied.statusCode).toBe(403);
    expect(code(denied)).toBe('DENIED');
  });

  it('asks for a new token (401 insufficient_scope) when the policy allows more than the token grants', async () => {
    reg = await startTestRegistry({ auth: 'token', ...(await authRoot()) });
    const token = await getToken('scope=repository:bob/app:pull', basic('bob', 'bobpw'));
    const res = await reg.app.inject({ method: 'POST', url: '/v2/bob/app/blobs/uploads/', headers: { ...bearer(token), host: 'h' } });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe(
      'Bearer realm="http://h/auth/token",service="berth-registry",scope="repository:bob/app:pull,push",error="insufficient_scope"',
    );
  });

  it('rejects bad credentials at the token endpoint and tampered tokens at the registry', async () => {
    reg = await startTestRegistry({ auth: 'token', ...(await authRoot()) });
    const bad = await reg.app.inject({ method: 'GET', url: '/auth/token?scope=repository:bob/app:pull', headers: basic('bob', 'nope') });
    expect(bad.statusCode).toBe(401);
    expect(bad.json().errors[0].message).toBe('Invalid username or password');

    const token = await getToken('scope=repository:bob/app:pull', basic('bob', 'bobpw'));
    const [h, , s] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...claims(token), access: [{ type: 'repository', name: 'shared/x', actions: ['push'] }] })).toString('base64url');
    const res = await reg.app.inject({ method: 'GET', url: '/v2/shared/x/tags/list', headers: { ...bearer(`${h}.${forged}.${s}`), host: 'h' } });
    expect(res.statusCode).toBe(401);
    expect(res.json().errors[0].message).toBe('Invalid token: Invalid token signature');
    expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
  });

  it('gives anonymous clients pull-only tokens with anonymousPull, and supports the OAuth2 password grant', async () => {
    reg = await startTestRegistry({ auth: 'token', anonymousPull: true, ...(await authRoot()) });
    const anon = await getToken('scope=repository:shared/x:pull,push');
    expect(claims(anon)).toMatchObject({ sub: '', access: [{ type: 'repository', name: 'shared/x', actions: ['pull'] }] });
    expect((await reg.app.inject({ method: 'GET', url: '/v2/shared/x/tags/list', headers: bearer(anon) })).statusCode).toBe(404); // NAME_UNKNOWN, but authorized
    const push = await reg.app.inject({ method: 'POST', url: '/v2/shared/x/blobs/uploads/', headers: bearer(anon) });
    expect(push.statusCode).toBe(401);

    const res = await reg.app.inject({
      method: 'POST',
      url: '/auth/token',
      payload: 'grant_type=password&username=alice&password=alicepw&service=berth-registry&scope=repository%3Aany%2Frepo%3Apush',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.statusCode).toBe(200);
    expect(claims(res.json().access_token)).toMatchObject({ sub: 'alice', access: [{ type: 'repository', name: 'any/repo', actions: ['push'] }] });
  });

  it('keeps its signing key across restarts of the same root', async () => {
    const auth = await authRoot();
    reg = await startTestRegistry({ auth: 'token', ...auth });
    const token = await getToken('scope=repository:bob/app:pull', basic('bob', 'bobpw'));
    await reg.app.close();
    const again = await startTestRegistry({ auth: 'token', ...auth });
    reg = again;
    const res = await again.app.inject({ method: 'GET', url: '/v2/bob/app/tags/list', headers: bearer(token) });
    expect(res.json().errors[0].code).toBe('NAME_UNKNOWN'); // authorized; the repository is simply empty
  });
});
