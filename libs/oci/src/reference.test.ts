import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '@berth/errors';
import { describe, expect, it } from 'vitest';
import { parseReference, validateTag } from './index.js';

interface Golden {
  valid: Array<{ input: string; domain: string; path: string; tag?: string; digest?: string; string: string; familiar: string }>;
  invalid: Array<{ input: string; error: string }>;
}
const golden: Golden = JSON.parse(readFileSync(new URL('./testdata/references.json', import.meta.url), 'utf8'));

describe('parseReference', () => {
  it.each(golden.valid)('parses $input', (c) => {
    const ref = parseReference(c.input);
    expect({ domain: ref.domain, path: ref.path, tag: ref.tag, digest: ref.digest }).toEqual({
      domain: c.domain,
      path: c.path,
      tag: c.tag,
      digest: c.digest,
    });
    expect(ref.name).toBe(`${c.domain}/${c.path}`);
    expect(ref.toString()).toBe(c.string);
    expect(`${ref}`).toBe(c.string);
    expect(ref.familiar()).toBe(c.familiar);
    // Normalization is idempotent: parsing the full form gives the same reference.
    expect(parseReference(ref.toString()).toString()).toBe(c.string);
  });

  it.each(golden.invalid)('rejects "$input"', (c) => {
    let error: unknown;
    try {
      parseReference(c.input);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toBe(c.error);
  });

  it('leaves the tag off when asked, for repository names', () => {
    const ref = parseReference('busybox', { defaultTag: false });
    expect(ref.tag).toBeUndefined();
    expect(ref.toString()).toBe('docker.io/library/busybox');
    expect(ref.familiarName()).toBe('busybox');
  });

  it('validates a tag alone', () => {
    expect(() => validateTag('v1.0')).not.toThrow();
    expect(() => validateTag('.x')).toThrow('invalid tag format');
  });
});
