import { createPrivateKey } from 'node:crypto';
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

  it('checks the validity window with 30 s of leeway', () => {
    const issuer = exampleIssuer();
    const { token } = issuer.issue('jlhawn', [], new Date(1415387015_000));
    expect(issuer.verify(token, new Date(1415387100_000)).sub).toBe('jlhawn');
    expect(() => issuer.verify(token, new Date(1415387015_000 + 300_000 + 31_000))).toThrow('Token has expired');
    expect(() => issuer.verify(token, new Date(1415387015_000 - 60_000))).toThrow('Token is not valid yet');
  });

  it('round-trips its own tokens and rejects another audience', () => {
    const issuer = exampleIssuer();
    const { token, expires_in } = issuer.issue('alice', [{ type: 'repository', name: 'a/b', actions: ['pull'] }]);
    expect(expires_in).toBe(300);
    expect(issuer.verify(token).access).toEqual([{ type: 'repository', name: 'a/b', actions: ['pull'] }]);
    const other = new TokenIssuer(createPrivateKey({ key: EXAMPLE_JWK, format: 'jwk' }), { issuer: 'auth.docker.com', service: 'elsewhere' });
    expect(() => other.verify(token)).toThrow('Token audience "registry.docker.com" is not "elsewhere"');
  });

  it('generates its key once and reuses it', async () => {
    const dir = await makeTempDir();
    try {
      const a = await TokenIssuer.load(join(dir, 'auth', 'token.key'), { issuer: 'i', service: 's' });
      const b = await TokenIssuer.load(join(dir, 'auth', 'token.key'), { issuer: 'i', service: 's' });
      expect(b.kid).toBe(a.kid);
      expect(b.verify(a.issue('x', []).token).sub).toBe('x');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
