import { describe, expect, it } from 'vitest';
import { createIgnoreMatcher, parseDockerignore } from './dockerignore.js';

const matcherOf = (text: string) => createIgnoreMatcher(parseDockerignore(text));

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
    const m = matcherOf('**/*.go\nbuild/**\n**\n!src/**\n');
    expect(m('src/a/b.go')).toBe(false);
    expect(m('x.go')).toBe(true);
    expect(m('anything')).toBe(true);
    const go = matcherOf('**/*.go\n');
    expect(go('main.go')).toBe(true);
    expect(go('a/b/c/main.go')).toBe(true);
    expect(go('main.gox')).toBe(false);
    const under = matcherOf('build/**\n');
    expect(under('build/x/y')).toBe(true);
    expect(under('buildx')).toBe(false);
    const mid = matcherOf('a/**/z\n');
    expect(mid('a/z')).toBe(true);
    expect(mid('a/b/c/z')).toBe(true);
    expect(mid('a/b/c/zz')).toBe(false);
  });

  it('lets the last matching pattern win', () => {
    const first = matcherOf('*.md\n!README*.md\nREADME-secret.md\n');
    expect(first('CHANGES.md')).toBe(true);
    expect(first('README.md')).toBe(false);
    expect(first('README-secret.md')).toBe(true);
    expect(first('docs/CHANGES.md')).toBe(false);
    const second = matcherOf('*.md\nREADME-secret.md\n!README*.md\n');
    expect(second('README-secret.md')).toBe(false);
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
    const m = matcherOf('file[0-9].txt\nlog?\nliteral\\*star\na+b(c).txt\n');
    expect(m('file7.txt')).toBe(true);
    expect(m('filex.txt')).toBe(false);
    expect(m('log1')).toBe(true);
    expect(m('log/x')).toBe(false);
    expect(m('literal*star')).toBe(true);
    expect(m('literalXstar')).toBe(false);
    expect(m('a+b(c).txt')).toBe(true);
  });

  it('accepts exclude patterns as strings (COPY --exclude)', () => {
    const m = createIgnoreMatcher(['*.md', '!keep.md', 'docs/']);
    expect(m('a.md')).toBe(true);
    expect(m('keep.md')).toBe(false);
    expect(m('docs/x.txt')).toBe(true);
  });
});
