import { describe, expect, it } from 'vitest';
import { createIgnoreMatcher, parseDockerignore } from './dockerignore.js';

const matcherOf = (text: string) => createIgnoreMatcher(parseDockerignore(text));

/** The patterns of `text` exclude exactly the paths `expected` maps to true (all compared at once). */
function expectExcluded(text: string, expected: Record<string, boolean>): void {
  const m = matcherOf(text);
  expect(Object.fromEntries(Object.keys(expected).map((path) => [path, m(path)]))).toEqual(expected);
}

describe('parseDockerignore', () => {
  it('drops comments, blank lines and ".", cleans paths and keeps order', () => {
    expect(parseDockerignore('\uFEFF# comment\n\n  /foo/bar/  \n./a//b/../c\n!  keep.md\n.\n #not a comment\r\n')).toEqual([
      { pattern: 'foo/bar', exclusion: false },
      { pattern: 'a/c', exclusion: false },
      { pattern: 'keep.md', exclusion: true },
      { pattern: '#not a comment', exclusion: false },
    ]);
  });
  it('rejects a lone "!"', () => {
    expect(() => parseDockerignore('!\n')).toThrow('Illegal exclusion pattern: "!"');
  });
});

describe('createIgnoreMatcher', () => {
  it('follows the documented examples', () => {
    const m = matcherOf('# comment\n*/temp*\n*/*/temp*\ntemp?\n');
    expect(m('somedir/temporary.txt', false)).toBe(true);
    expect(m('somedir/temp', true)).toBe(true);
    expect(m('somedir/temp/inner/file', false)).toBe(true);
    expect(m('somedir/subdir/temporary.txt', false)).toBe(true);
    expect(m('tempa', false)).toBe(true);
    expect(m('temp', false)).toBe(false);
    expect(m('temporary.txt', false)).toBe(false);
    expect(m('a/b/c/temp', false)).toBe(false);
  });

  it('treats every spelling of a path the same', () => {
    for (const pattern of ['/foo/bar/', '/foo/bar', 'foo/bar/', 'foo/bar']) {
      const m = createIgnoreMatcher([pattern]);
      expect(m('foo/bar')).toBe(true);
      expect(m('./foo/bar/baz.txt')).toBe(true);
      expect(m('foo/barbaz')).toBe(false);
    }
    // Paths the walk passes are taken as they are; any other spelling is cleaned first.
    const m = createIgnoreMatcher(['a/b', '..x', '.y']);
    for (const path of ['a/b', './a/b', 'a//b', 'a/./b', '/a/b/', 'a\\b', 'a/c/../b', '..x', './..x', '.y', 'z/../.y']) expect({ path, excluded: m(path) }).toEqual({ path, excluded: true });
    for (const path of ['a', 'a/bc', '.', '..', 'a/..', 'x/..x', '..', '.y/../z']) expect({ path, excluded: m(path) }).toEqual({ path, excluded: false });
    expect(createIgnoreMatcher([])('./a/../b')).toBe(false);
  });

  it('supports ** for any number of directories', () => {
    expectExcluded('**/*.go\nbuild/**\n**\n!src/**\n', { 'src/a/b.go': false, 'x.go': true, anything: true });
    expectExcluded('**/*.go\n', { 'main.go': true, 'a/b/c/main.go': true, 'main.gox': false });
    expectExcluded('build/**\n', { 'build/x/y': true, buildx: false });
    expectExcluded('a/**/z\n', { 'a/z': true, 'a/b/c/z': true, 'a/b/c/zz': false });
  });

  it('lets the last matching pattern win', () => {
    expectExcluded('*.md\n!README*.md\nREADME-secret.md\n', { 'CHANGES.md': true, 'README.md': false, 'README-secret.md': true, 'docs/CHANGES.md': false });
    expectExcluded('*.md\nREADME-secret.md\n!README*.md\n', { 'README-secret.md': false });
  });

  it('re-includes files inside an excluded directory, and says which directories to walk', () => {
    const m = matcherOf('node_modules\n!node_modules/keep/**\nvendor\n*/cache\n!a/cache/important\n');
    expect(m('node_modules/x/index.js')).toBe(true);
    expect(m('node_modules/keep/a.js')).toBe(false);
    expect(m.hasExceptions).toBe(true);
    expect(m.shouldWalk('node_modules')).toBe(true);
    expect(m.shouldWalk('node_modules/x')).toBe(false);
    expect(m.shouldWalk('node_modules/keep')).toBe(true);
    expect(m.shouldWalk('vendor')).toBe(false);
    expect(m.shouldWalk('src')).toBe(true);
    expect(m.shouldWalk('a/cache')).toBe(true);
    expect(m.shouldWalk('b/cache')).toBe(false);
    expect(m('a/cache/important')).toBe(false);
    expect(m('a/cache/other')).toBe(true);
  });

  it('never walks into excluded directories when there are no exceptions', () => {
    const m = matcherOf('.git\n');
    expect(m.hasExceptions).toBe(false);
    expect(m.shouldWalk('.git')).toBe(false);
    expect(m.shouldWalk('.github')).toBe(true);
    expect(m.shouldWalk('.')).toBe(true);
  });

  it('handles character classes, ? and escapes', () => {
    expectExcluded('file[0-9].txt\nlog?\nliteral\\*star\na+b(c).txt\n', {
      'file7.txt': true,
      'filex.txt': false,
      log1: true,
      'log/x': false,
      'literal*star': true,
      literalXstar: false,
      'a+b(c).txt': true,
    });
  });

  it('accepts exclude patterns as strings (COPY --exclude)', () => {
    const m = createIgnoreMatcher(['*.md', '!keep.md', 'docs/']);
    expect(m('a.md')).toBe(true);
    expect(m('keep.md')).toBe(false);
    expect(m('docs/x.txt')).toBe(true);
  });
});
