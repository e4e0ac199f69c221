import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { nkeys } from 'nats';
import { describe, expect, it } from 'vitest';
import { ensurePlatformSecrets, readRegistryAuth, SERVICE_ROLES } from './platform-secrets.js';

// A temp directory removed at the end of the block (libs/testing depends on this library).
function tempDir(): { path: string } & Disposable {
  const path = mkdtempSync(join(tmpdir(), 'berth-platform-test-'));
  return { path, [Symbol.dispose]: () => rmSync(path, { recursive: true, force: true }) };
}

const nats = { port: 4222, storeDir: '/data/nats', hostId: 'host-1' };

describe('platform secrets', () => {
  it("hashes the registry password at the platform's cost, and hashes an older installation's again (same password)", () => {
    using dir = tempDir();
    const secrets = ensurePlatformSecrets(dir.path, nats);
    const { password } = readRegistryAuth(secrets.registryAuth);
    expect(readFileSync(secrets.registryHtpasswd, 'utf8')).toMatch(/^berth:\$2[aby]\$04\$/);
    writeFileSync(secrets.registryHtpasswd, `berth:${bcrypt.hashSync(password, 10)}\n`);
    ensurePlatformSecrets(dir.path, nats);
    const hash = readFileSync(secrets.registryHtpasswd, 'utf8').trim().split(':')[1]!;
    expect(hash).toMatch(/^\$2[aby]\$04\$/);
    expect(bcrypt.compareSync(password, hash)).toBe(true);
    expect(readRegistryAuth(secrets.registryAuth).password).toBe(password);
  });

  it('makes one nkey per service and a registry password, all 0600 in a 0700 directory', () => {
    using dir = tempDir();
    const secrets = ensurePlatformSecrets(dir.path, nats);
    expect(statSync(secrets.dir).mode & 0o777).toBe(0o700);
    const config = readFileSync(secrets.natsConfig, 'utf8');
    for (const service of Object.keys(SERVICE_ROLES)) {
      const file = secrets.nkeySeedFile(service);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const seed = readFileSync(file, 'utf8').trim();
      expect(seed).toMatch(/^SU[A-Z2-7]{56}$/);
      // The config names the public key, never the seed.
      expect(config).toContain(nkeys.fromSeed(new TextEncoder().encode(seed)).getPublicKey());
      expect(config).not.toContain(seed);
    }
    for (const file of [secrets.natsConfig, secrets.registryAuth, secrets.registryHtpasswd]) expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(config).toContain('listen: "127.0.0.1:4222"');
    expect(config).toContain('"$KV.hosts.host-1"');
    const { username, password } = readRegistryAuth(secrets.registryAuth);
    expect(username).toBe('berth');
    expect(password.length).toBeGreaterThanOrEqual(43);
    const [user, hash] = readFileSync(secrets.registryHtpasswd, 'utf8').trim().split(':');
    expect(user).toBe('berth');
    expect(bcrypt.compareSync(password, hash!)).toBe(true);
  });

  it('keeps keys and passwords across runs, and says when the server config changed', () => {
    using dir = tempDir();
    const first = ensurePlatformSecrets(dir.path, nats);
    const seed = readFileSync(first.nkeySeedFile('api'), 'utf8');
    const auth = readFileSync(first.registryAuth, 'utf8');
    expect(first.natsConfigChanged).toBe(false);
    const again = ensurePlatformSecrets(dir.path, nats);
    expect(again.natsConfigChanged).toBe(false);
    expect(readFileSync(again.nkeySeedFile('api'), 'utf8')).toBe(seed);
    expect(readFileSync(again.registryAuth, 'utf8')).toBe(auth);
    expect(ensurePlatformSecrets(dir.path, { ...nats, port: 4223 }).natsConfigChanged).toBe(true);
  });

  it('names a broken key or credentials file', () => {
    using dir = tempDir();
    const secrets = ensurePlatformSecrets(dir.path, nats);
    writeFileSync(secrets.nkeySeedFile('registry'), 'not a seed\n');
    expect(() => ensurePlatformSecrets(dir.path, nats)).toThrow(
      `Invalid NATS key in "${secrets.nkeySeedFile('registry')}": remove it and run \`berth platform up\` again to make a new one`,
    );
    writeFileSync(secrets.registryAuth, '{"username": 1}');
    expect(() => readRegistryAuth(secrets.registryAuth)).toThrow(
      `Invalid platform registry credentials "${secrets.registryAuth}": expected {"username": "...", "password": "..."}`,
    );
    expect(() => readRegistryAuth(join(dir.path, 'missing.json'))).toThrow(`Cannot read the platform registry's credentials "${join(dir.path, 'missing.json')}": ENOENT`);
  });
});
