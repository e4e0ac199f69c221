import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startRegistryProcess, tempDir } from '@berth/testing';
import { credentialsFor, platformRegistryTransport } from './platform-registry.js';
import { RegistryClient } from './registry-client.js';
import { PLATFORM_REGISTRY_ALIAS } from './registry-host.js';

describe('credentialsFor', () => {
  const platform = { address: '127.0.0.1:5000', credentials: { username: 'berth', password: 'secret' } };

  it("uses what the request brings, else the platform registry's credentials for that registry only", () => {
    const mine = { username: 'me', password: 'pw' };
    expect(credentialsFor('127.0.0.1:5000', mine, platform)).toBe(mine);
    expect(credentialsFor('127.0.0.1:5000', undefined, platform)).toBe(platform.credentials);
    expect(credentialsFor('127.0.0.1:5000', { username: '', password: '' }, platform)).toBe(platform.credentials);
    expect(credentialsFor('localhost:5000', undefined, platform)).toBe(platform.credentials);
    expect(credentialsFor('[::1]:5000', undefined, platform)).toBe(platform.credentials);
    expect(credentialsFor('berth.localhost', undefined, platform)).toBe(platform.credentials); // its short name
    expect(credentialsFor('Berth.Localhost', undefined, platform)).toBe(platform.credentials);
    expect(credentialsFor('127.0.0.1:5001', undefined, platform)).toBeUndefined();
    expect(credentialsFor('registry.example.com', undefined, platform)).toBeUndefined();
    expect(credentialsFor('127.0.0.1:5000', undefined, undefined)).toBeUndefined();
  });
});

describe('the platform registry over HTTPS with its own CA', () => {
  /** A CA and a server certificate for IP 127.0.0.1 it signed, made with openssl in `dir`. */
  const makeCa = (dir: string, name: string) => {
    const ca = join(dir, `${name}-ca.pem`);
    const key = join(dir, `${name}-key.pem`);
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    execFileSync('openssl', ['req', '-x509', ...ec, '-days', '2', '-keyout', join(dir, `${name}-ca-key.pem`), '-out', ca, '-subj', `/CN=${name} CA`], { stdio: 'ignore' });
    const csr = execFileSync('openssl', ['req', '-new', ...ec, '-keyout', key, '-subj', '/CN=registry'], { stdio: ['ignore', 'pipe', 'ignore'] });
    writeFileSync(join(dir, `${name}.ext`), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    const cert = execFileSync('openssl', ['x509', '-req', '-CA', ca, '-CAkey', join(dir, `${name}-ca-key.pem`), '-set_serial', '7', '-days', '2', '-extfile', join(dir, `${name}.ext`)], {
      input: csr,
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    writeFileSync(join(dir, `${name}.pem`), cert);
    return { ca: readFileSync(ca, 'utf8'), cert: join(dir, `${name}.pem`), key };
  };

  it("is reached over HTTPS verified against its CA, and refused (never plain HTTP, never unverified) with another CA's", async () => {
    await using dir = tempDir('berth-registry-ca-');
    const ours = makeCa(dir.path, 'ours');
    const theirs = makeCa(dir.path, 'theirs');
    await using registry = await startRegistryProcess(['--listen', '127.0.0.1:0', '--root', join(dir.path, 'data'), '--tls-cert', ours.cert, '--tls-key', ours.key, '--log-level', 'silent']);
    const address = new URL(registry.url).host;
    const credentials = { username: 'berth', password: 'secret' };
    const trusting = new RegistryClient({ dockerConfig: join(dir.path, 'docker'), ...platformRegistryTransport({ address, credentials, ca: ours.ca }) });
    const wrongCa = new RegistryClient({ dockerConfig: join(dir.path, 'docker'), ...platformRegistryTransport({ address, credentials, ca: theirs.ca }) });
    try {
      await trusting.ping(PLATFORM_REGISTRY_ALIAS);
      expect((await trusting.origin(address)).protocol).toBe('https:');
      // A loopback registry would fall back to an unverified certificate: not one with its own CA.
      await expect(wrongCa.ping(address)).rejects.toThrow(/Cannot reach registry at https:\/\/127\.0\.0\.1:\d+: .*certificate/);
    } finally {
      trusting.close();
      wrongCa.close();
    }
  });
});
