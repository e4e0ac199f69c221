import { describe, expect, it } from 'vitest';
import { PatternTooComplex, trimPattern } from './pattern-trim.js';

describe('trimPattern', () => {
  const cases: Array<[string, string, '#' | '##' | '%' | '%%', string]> = [
    ['archive.tar.gz', '*.', '#', 'tar.gz'],
    ['archive.tar.gz', '*.', '##', 'gz'],
    ['archive.tar.gz', '.*', '%', 'archive.tar'],
    ['archive.tar.gz', '.*', '%%', 'archive'],
    ['abc', 'x', '#', 'abc'],
    ['abc', '', '#', 'abc'],
    ['abc', '*', '#', 'abc'],
    ['abc', '*', '##', ''],
    ['abc', '*', '%', 'abc'],
    ['abc', '*', '%%', ''],
    ['abc', '?', '#', 'bc'],
    ['abc', '??', '%', 'a'],
    ['a1b2', '[0-9]*', '%', 'a1b'],
    ['a1b2', '*[0-9]', '%%', ''],
    ['a1b2', '[!0-9]', '#', '1b2'],
    ['a1b2', '[^a]', '#', 'a1b2'],
    ['x*y', 'x\\*', '#', 'y'],
    ['[ab', '[', '#', 'ab'],
    ['z-a', '[z-a]', '#', 'z-a'],
    ['aaab', '*a*a*b', '#', ''],
    ['aaab', '*a*a', '##', 'b'],
    ['😀x😀', '?', '#', 'x😀'],
    ['😀x😀', '?', '%', '😀x'],
  ];
  for (const [value, pattern, op, expected] of cases) {
    it(`\${${value}${op}${pattern}} → ${expected}`, () => expect(trimPattern(value, pattern, op)).toBe(expected));
  }

  it('matches a pattern that backtracks exponentially as a regular expression, at once', () => {
    const start = performance.now();
    expect(trimPattern('a'.repeat(5000), '*a'.repeat(30) + 'b', '#')).toBe('a'.repeat(5000));
    expect(trimPattern('a'.repeat(5000), '*a'.repeat(30), '##')).toBe('');
    expect(performance.now() - start).toBeLessThan(2000);
  });

  it('refuses work beyond its budget instead of running for minutes', () => {
    expect(() => trimPattern('a'.repeat(200_000), '*a'.repeat(1000) + 'b', '##')).toThrow(
      new PatternTooComplex('pattern too complex to match a value of 200000 characters'),
    );
  });
});
