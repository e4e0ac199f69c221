import { InvalidArgumentError } from '@berth/errors';
import { describe, expect, it } from 'vitest';
import { chainIds, isDigest, parseDigest, sha256, shortId } from './index.js';

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
