import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir } from '../test-support.js';
import { TokenIssuer } from './token-issuer.js';

// The example key of registry-auth/jwt.md (its example signature does not verify against it, so
// only the key id is used as a golden value).
const EXAMPLE_JWK = {
  kty: 'EC',
  crv: 'P-256',
  d: 'R7OnbfMaD5J2jl7GeE8ESo7CnHSBm_1N2k9IXYFrKJA',
  x: 'm7zUpx3b-zmVE5cymSs64POG9QcyEpJaYCD82-549_Q',
  y: 'dU3biz8sZ_8GPB-odm8Wxz3lNDr1xcAQQPQaOcr1fmc',
};
function exampleIssuer(): TokenIssuer {
  return new TokenIssuer(createPrivateKey({ key: EXAMPLE_JWK, format: 'jwk' }), { issuer: 'auth.docker.com', service: 'registry.docker.com' });
}

describe('TokenIssuer', () => {
  it('computes the libtrust key id of the spec example key', () => {
    expect(exampleIssuer().kid).toBe('PYYO:TEWU:V7JH:26JV:AQTZ:LJC3:SXVJ:XGHA:34F2:2LAQ:ZRMK:Z7Q6');
  });

  it('checks the validity window with 30 s of leeway', async () => {
    const issuer = exampleIssuer();
    const { token } = await issuer.issue('jlhawn', [], new Date(1415387015_000));
    expect((await issuer.verify(token, new Date(1415387100_000))).sub).toBe('jlhawn');
    await expect(issuer.verify(token, new Date(1415387015_000 + 300_000 + 31_000))).rejects.toThrow('Token has expired');
    await expect(issuer.verify(token, new Date(1415387015_000 - 60_000))).rejects.toThrow('Token is not valid yet');
  });

  it('round-trips its own tokens and rejects another audience', async () => {
    const issuer = exampleIssuer();
    const { token, expires_in } = await issuer.issue('alice', [{ type: 'repository', name: 'a/b', actions: ['pull'] }]);
    expect(expires_in).toBe(300);
    expect((await issuer.verify(token)).access).toEqual([{ type: 'repository', name: 'a/b', actions: ['pull'] }]);
    const other = new TokenIssuer(createPrivateKey({ key: EXAMPLE_JWK, format: 'jwk' }), { issuer: 'auth.docker.com', service: 'elsewhere' });
    await expect(other.verify(token)).rejects.toThrow('Token audience "registry.docker.com" is not "elsewhere"');
  });

  it('refuses tokens of another issuer, another key, another algorithm, and garbage', async () => {
    const issuer = exampleIssuer();
    const { token } = await issuer.issue('alice', []);
    const stranger = new TokenIssuer(createPrivateKey({ key: EXAMPLE_JWK, format: 'jwk' }), { issuer: 'someone.else', service: 'registry.docker.com' });
    await expect(stranger.verify(token)).rejects.toThrow('Token issuer "auth.docker.com" is not trusted, expected "someone.else"');
    const otherKey = new TokenIssuer(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, { issuer: 'auth.docker.com', service: 'registry.docker.com' });
    await expect(otherKey.verify(token)).rejects.toThrow(`Token signed by unknown key "${issuer.kid}"`);
    const [, claims, signature] = token.split('.');
    const noKid = `${Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'ES256' })).toString('base64url')}.${claims}.${signature}`;
    await expect(otherKey.verify(noKid)).rejects.toThrow('Invalid token signature');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${claims}.`;
    await expect(issuer.verify(none)).rejects.toThrow('Unsupported token algorithm "none": expected "ES256"');
    await expect(issuer.verify('not a token')).rejects.toThrow('Malformed token: expected three dot-separated base64url parts, the first a JSON header');
  });

  it('generates its key once and reuses it', async () => {
    const dir = await makeTempDir();
    try {
      const a = await TokenIssuer.load(join(dir, 'auth', 'token.key'), { issuer: 'i', service: 's' });
      const b = await TokenIssuer.load(join(dir, 'auth', 'token.key'), { issuer: 'i', service: 's' });
      expect(b.kid).toBe(a.kid);
      expect((await b.verify((await a.issue('x', [])).token)).sub).toBe('x');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
