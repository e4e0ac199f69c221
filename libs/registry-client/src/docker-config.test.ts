import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir, type TempDir } from '@berth/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DockerConfig } from './docker-config.js';

let dir: TempDir;
beforeEach(() => {
  dir = tempDir('berth-docker-config-');
});
afterEach(() => dir.remove());

describe('DockerConfig', () => {
  it('uses $DOCKER_CONFIG, else ~/.docker', () => {
    expect(new DockerConfig(undefined, { DOCKER_CONFIG: '/x/y' }).file).toBe('/x/y/config.json');
    expect(new DockerConfig(undefined, {}).file).toMatch(/\/\.docker\/config\.json$/);
  });

  it('writes auths entries 0600, keeps other keys, and reads them back', async () => {
    const config = new DockerConfig(join(dir.path, 'docker'));
    await config.set('localhost:5000', { username: 'alice', password: 'p:w' });
    expect((await stat(config.file)).mode & 0o777).toBe(0o600);
    const raw = JSON.parse(await readFile(config.file, 'utf8'));
    expect(raw.auths['localhost:5000'].auth).toBe(Buffer.from('alice:p:w').toString('base64'));
    await writeFile(config.file, JSON.stringify({ ...raw, credsStore: 'none', psFormat: 'table' }));
    await config.set('docker.io', { username: 'bob', password: 'x' });
    const again = JSON.parse(await readFile(config.file, 'utf8'));
    expect(again.psFormat).toBe('table');
    expect(Object.keys(again.auths).sort()).toEqual(['https://index.docker.io/v1/', 'localhost:5000']);
    expect(await config.get('localhost:5000')).toEqual({ username: 'alice', password: 'p:w' });
    expect(await config.get('docker.io')).toEqual({ username: 'bob', password: 'x' });
    expect(await config.get('index.docker.io')).toEqual({ username: 'bob', password: 'x' });
    expect(await config.get('other:5000')).toBeUndefined();
  });

  it('matches keys written with a scheme or path, as Docker does', async () => {
    const config = new DockerConfig(dir.path);
    await writeFile(config.file, JSON.stringify({ auths: { 'https://reg.example:5000/v2/': { auth: Buffer.from('u:p').toString('base64') } } }));
    expect(await config.get('reg.example:5000')).toEqual({ username: 'u', password: 'p' });
    expect(await config.remove('reg.example:5000')).toBe(true);
    expect(await config.remove('reg.example:5000')).toBe(false);
    expect(JSON.parse(await readFile(config.file, 'utf8'))).toEqual({ auths: {} });
  });

  it('returns nothing without a file and refuses a malformed one', async () => {
    const config = new DockerConfig(dir.path);
    expect(await config.get('localhost:5000')).toBeUndefined();
    await writeFile(config.file, '{ nope');
    await expect(config.get('localhost:5000')).rejects.toThrow(`Invalid Docker config file "${config.file}": `);
  });
});
