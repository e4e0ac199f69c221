import { describe, expect, it } from 'vitest';
import { pathMatch } from './path-match.js';

// Go's own table (path/match_test.go): pattern, name, matches, or 'bad' for ErrBadPattern.
const cases: Array<[string, string, boolean | 'bad']> = [
  ['abc', 'abc', true],
  ['*', 'abc', true],
  ['*c', 'abc', true],
  ['a*', 'a', true],
  ['a*', 'abc', true],
  ['a*', 'ab/c', false],
  ['a*/b', 'abc/b', true],
  ['a*/b', 'a/c/b', false],
  ['a*b*c*d*e*/f', 'axbxcxdxe/f', true],
  ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true],
  ['a*b*c*d*e*/f', 'axbxcxdxe/xxx/f', false],
  ['a*b*c*d*e*/f', 'axbxcxdxexxx/fff', false],
  ['a*b?c*x', 'abxbbxdbxebxczzx', true],
  ['a*b?c*x', 'abxbbxdbxebxczzy', false],
  ['ab[c]', 'abc', true],
  ['ab[b-d]', 'abc', true],
  ['ab[e-g]', 'abc', false],
  ['ab[^c]', 'abc', false],
  ['ab[^b-d]', 'abc', false],
  ['ab[^e-g]', 'abc', true],
  ['a\\*b', 'a*b', true],
  ['a\\*b', 'ab', false],
  ['a?b', 'a☺b', true],
  ['a[^a]b', 'a☺b', true],
  ['a???b', 'a☺b', false],
  ['a[^a][^a][^a]b', 'a☺b', false],
  ['[a-ζ]*', 'α', true],
  ['*[a-ζ]', 'A', false],
  ['a?b', 'a/b', false],
  ['a*b', 'a/b', false],
  ['[\\]a]', ']', true],
  ['[\\-]', '-', true],
  ['[x\\-]', 'x', true],
  ['[x\\-]', '-', true],
  ['[x\\-]', 'z', false],
  ['[\\-x]', 'x', true],
  ['[\\-x]', '-', true],
  ['[\\-x]', 'a', false],
  ['[]a]', ']', 'bad'],
  ['[-]', '-', 'bad'],
  ['[x-]', 'x', 'bad'],
  ['[x-]', '-', 'bad'],
  ['[x-]', 'z', 'bad'],
  ['[-x]', 'x', 'bad'],
  ['[-x]', '-', 'bad'],
  ['[-x]', 'a', 'bad'],
  ['\\', 'a', 'bad'],
  ['[a-b-c]', 'a', 'bad'],
  ['[', 'a', 'bad'],
  ['[^', 'a', 'bad'],
  ['[^bc', 'a', 'bad'],
  ['a[', 'a', 'bad'],
  ['a[', 'ab', 'bad'],
  ['a[', 'x', 'bad'],
  ['a/b[', 'x', 'bad'],
  ['*x', 'xxx', true],
];

describe('pathMatch', () => {
  it.each(cases)('%s against %s', (pattern, name, want) => {
    if (want === 'bad') expect(() => pathMatch(pattern, name)).toThrow(`Invalid pattern "${pattern}": syntax error in pattern`);
    else expect(pathMatch(pattern, name)).toBe(want);
  });

  it('matches image references as the reference filter does', () => {
    expect(pathMatch('busy*', 'busybox')).toBe(true);
    expect(pathMatch('busy*', 'busybox:latest')).toBe(true);
    expect(pathMatch('*', 'user/app')).toBe(false);
    expect(pathMatch('*/*', 'user/app')).toBe(true);
    expect(pathMatch('a?c:[0-9]', 'abc:1')).toBe(true);
    expect(pathMatch('a?c:[^0-9]', 'abc:1')).toBe(false);
  });

  it('names what the pattern is in its error', () => {
    expect(() => pathMatch('app[', 'app', { what: 'reference filter pattern' })).toThrow('Invalid reference filter pattern "app[": syntax error in pattern');
  });
});
