import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openSecret, sealSecret } from './sealed-secret.js';

describe('sealed secrets', () => {
  it('open with the recipient key only, and not once altered', () => {
    const host = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const sealed = sealSecret('{"password":"s3cret"}', host.publicKey);
    expect(JSON.stringify(sealed)).not.toContain('s3cret');
    expect(openSecret(sealed, host.privateKey)).toBe('{"password":"s3cret"}');
    expect(() => openSecret(sealed, other.privateKey)).toThrow("Cannot open the secret the cluster sent: it was not sealed for this host's key, or was altered");
    const flipped = Buffer.from(sealed.data, 'base64');
    flipped[0] = flipped[0]! ^ 1;
    expect(() => openSecret({ ...sealed, data: flipped.toString('base64') }, host.privateKey)).toThrow('or was altered');
  });
});
