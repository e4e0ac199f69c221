import { InvalidArgumentError } from '@berth/errors';
import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { chainIds, createDigester, digestOf, digestStream, isDigest, parseDigest, sha256, sha512, shortId } from './index.js';

describe('digests', () => {
  it('hashes bytes and strings alike', () => {
    const empty = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    expect(sha256('')).toBe(empty);
    expect(sha256(Buffer.alloc(0))).toBe(empty);
    expect(shortId(empty)).toBe('e3b0c44298fc');
  });

  it('parses and rejects digests with a message naming the value', () => {
    expect(parseDigest(sha256('x'))).toEqual({ algorithm: 'sha256', hex: sha256('x').slice(7) });
    expect(isDigest(`sha512:${'0'.repeat(128)}`)).toBe(true);
    expect(() => parseDigest('sha256:abc')).toThrow(
      new InvalidArgumentError('Invalid checksum digest length: "sha256:abc" (expected 64 hex characters)'),
    );
    expect(() => parseDigest(`sha256:${'A'.repeat(64)}`)).toThrow(`Invalid checksum digest format: "sha256:${'A'.repeat(64)}"`);
    expect(() => parseDigest('md5:abc')).toThrow('Unsupported digest algorithm: "md5:abc"');
    expect(() => parseDigest('../../etc/passwd')).toThrow('Invalid checksum digest format: "../../etc/passwd"');
    expect(isDigest('sha256:')).toBe(false);
  });

  it('hashes with sha512 as well, at once, in chunks and from a stream', async () => {
    // sha512("") from FIPS 180-4's test vectors.
    const empty512 = 'sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e';
    expect(sha512('')).toBe(empty512);
    expect(digestOf('', 'sha512')).toBe(empty512);
    expect(digestOf('abc')).toBe(sha256('abc'));
    expect(parseDigest(sha512('x'))).toEqual({ algorithm: 'sha512', hex: sha512('x').slice(7) });
    expect(() => parseDigest(`sha512:${'0'.repeat(64)}`)).toThrow(`Invalid checksum digest length: "sha512:${'0'.repeat(64)}" (expected 128 hex characters)`);

    const digester = createDigester('sha512');
    digester.update(Buffer.from('hello '));
    digester.update(Buffer.from('world'));
    expect(digester.size).toBe(11);
    expect(digester.digest()).toBe(sha512('hello world'));
    expect(await digestStream(Readable.from([Buffer.from('hello '), Buffer.from('world')]))).toEqual({ digest: sha256('hello world'), size: 11 });
    expect(await digestStream(Readable.from([]), 'sha512')).toEqual({ digest: empty512, size: 0 });
  });

  it('computes chain IDs by the OCI recursion', () => {
    const a = sha256('a');
    const b = sha256('b');
    const c = sha256('c');
    const ab = sha256(`${a} ${b}`);
    expect(chainIds([])).toEqual([]);
    expect(chainIds([a])).toEqual([a]);
    expect(chainIds([a, b, c])).toEqual([a, ab, sha256(`${ab} ${c}`)]);
    expect(() => chainIds(['nope'])).toThrow(InvalidArgumentError);
  });
});
