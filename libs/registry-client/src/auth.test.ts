/**
 * Authentication against Berth's registry process in its two modes, through a logging proxy so
 * that the challenge → token → retry exchange can be checked request by request.
 */
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { ContentStore } from '@berth/content';
import { startRegistryProcess, tempDir, type RegistryProcess, type TempDir } from '@berth/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from './registry-client.js';
import { startProxy, storeImage, type TestProxy } from './test-support.js';

describe.each(['basic', 'token'] as const)('auth mode %s', (mode) => {
  let root: TempDir;
  let dir: TempDir;
  let registry: RegistryProcess;
  let proxy: TestProxy;
  const clients: RegistryClient[] = [];
  const newClient = (): RegistryClient => {
    const c = new RegistryClient({ dockerConfig: join(dir.path, 'docker') });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    root = tempDir('berth-auth-registry-');
    dir = tempDir('berth-auth-');
    const hash = bcrypt.hashSync('alicepw', 4).replace(/^\$2[ab]\$/, '$2y$');
    await writeFile(join(root.path, 'htpasswd'), `alice:${hash}\n`);
    registry = await startRegistryProcess([
      '--listen', '127.0.0.1:0', '--root', join(root.path, 'data'), '--auth', mode, '--htpasswd', join(root.path, 'htpasswd'), '--log-level', 'silent',
    ]);
    proxy = await startProxy(registry.url);
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  afterAll(async () => {
    await proxy?.close();
    await registry?.stop('SIGKILL');
    root?.remove();
    dir?.remove();
  });

  it('refuses anonymous clients with "unauthorized"', async () => {
    const store = new ContentStore(join(dir.path, 'anon'));
    await expect(newClient().pull(`${proxy.host}/berth/app:v1`, { store })).rejects.toMatchObject({
      kind: 'permission-denied',
      message: mode === 'basic' ? 'unauthorized: Authentication required' : 'unauthorized: Token does not grant repository:berth/app:pull',
    });
  });

  it('refuses a login with a wrong password and writes nothing', async () => {
    await expect(newClient().login(proxy.host, { username: 'alice', password: 'wrong' })).rejects.toMatchObject({
      kind: 'permission-denied',
      message: 'unauthorized: Invalid username or password',
    });
    await expect(stat(join(dir.path, 'docker', 'config.json'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('logs in, stores the credentials 0600, then pushes and pulls with them', async () => {
    expect(await newClient().login(proxy.host, { username: 'alice', password: 'alicepw' })).toEqual({ status: 'Login Succeeded' });
    const file = join(dir.path, 'docker', 'config.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ auths: { [proxy.host]: { auth: Buffer.from('alice:alicepw').toString('base64') } } });

    const source = new ContentStore(join(dir.path, 'source'));
    const img = await storeImage(source, { layers: [randomBytes(3000), randomBytes(4000)] });
    await newClient().push(`${proxy.host}/berth/app:v1`, { store: source, manifestDigest: img.digest });

    proxy.log.length = 0;
    const target = new ContentStore(join(dir.path, 'target'));
    const pulled = await newClient().pull(`${proxy.host}/berth/app:v1`, { store: target });
    expect(pulled.manifestDigest).toBe(img.digest);
    const log = proxy.log.map((e) => `${e.method} ${e.path.split('?')[0]} ${e.status}`);
    // One challenge, answered once, then every request authenticated without another 401.
    expect(log[0]).toBe('GET /v2/berth/app/manifests/v1 401');
    expect(log.filter((l) => l.endsWith(' 401'))).toHaveLength(1);
    if (mode === 'token') {
      expect(log[1]).toBe('GET /auth/token 200');
      const tokenRequest = new URL(proxy.log[1]!.path, 'http://x');
      expect(tokenRequest.searchParams.getAll('scope')).toEqual(['repository:berth/app:pull']);
      expect(tokenRequest.searchParams.get('service')).toBe('berth-registry');
      expect(tokenRequest.searchParams.get('account')).toBe('alice');
      expect(proxy.log[1]!.authorization).toBe(`Basic ${Buffer.from('alice:alicepw').toString('base64')}`);
      expect(log.filter((l) => l.startsWith('GET /auth/token'))).toHaveLength(1); // cached for the blobs
      expect(proxy.log.slice(2).every((e) => e.authorization?.startsWith('Bearer '))).toBe(true);
    } else {
      expect(proxy.log.slice(1).every((e) => e.authorization === `Basic ${Buffer.from('alice:alicepw').toString('base64')}`)).toBe(true);
    }
    expect(log.slice(-3).every((l) => l.endsWith(' 200'))).toBe(true);
  });

  it('forgets the credentials at logout', async () => {
    const client = newClient();
    await client.login(proxy.host, { username: 'alice', password: 'alicepw' });
    expect(await client.logout(proxy.host)).toBe(true);
    expect(await client.logout(proxy.host)).toBe(false);
    await expect(client.pull(`${proxy.host}/berth/app:v1`, { store: new ContentStore(join(dir.path, 'after-logout')) })).rejects.toThrow(
      /^unauthorized: /,
    );
  });
});
