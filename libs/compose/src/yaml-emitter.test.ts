import { describe, expect, it } from 'vitest';
import { formatScalar, toYaml } from './yaml-emitter.js';

describe('formatScalar (go-yaml v3 styles)', () => {
  it.each([
    ['plain', 'plain'],
    ['8080', '"8080"'],
    ['0755', '"0755"'],
    ['1.5', '"1.5"'],
    ['1e3', '"1e3"'],
    ['true', '"true"'],
    ['yes', '"yes"'],
    ['on', '"on"'],
    ['null', '"null"'],
    ['~', '"~"'],
    ['', '""'],
    ['80:80', '80:80'],
    ['1:20', '"1:20"'],
    ['2024-01-02', '"2024-01-02"'],
    ['a: b', "'a: b'"],
    ['x #y', "'x #y'"],
    ['x#y', 'x#y'],
    ['*star', "'*star'"],
    ['- item', "'- item'"],
    ['-flag', '-flag'],
    [' padded', "' padded'"],
    ["it's", "it's"],
    ["'quoted'", "'''quoted'''"],
    ['a\tb', '"a\\tb"'],
    ['http://x:80/y', 'http://x:80/y'],
    ['key=value', 'key=value'],
    ['{a}', "'{a}'"],
    ['[a]', "'[a]'"],
    ['@at', "'@at'"],
    ['%p', "'%p'"],
    ['<<', '"<<"'],
  ])('%j → %s', (value, expected) => {
    expect(formatScalar(value)).toBe(expected);
  });

  it('prints numbers, booleans and null as go-yaml does', () => {
    expect([formatScalar(3), formatScalar(0.5), formatScalar(true), formatScalar(null), formatScalar(Infinity)]).toEqual(['3', '0.5', 'true', 'null', '.inf']);
  });
});

describe('toYaml', () => {
  it('indents sequences under keys, inlines empty collections and writes literal blocks', () => {
    const doc = {
      name: 'demo',
      list: ['a', { k: 'v', num: 1 }, [], {}],
      oldBool: ['y', 'n'],
      nested: [['x', 'z']],
      empty: {},
      none: null,
      text: 'one\ntwo\n',
      strip: 'no newline\nat end',
      keep: 'two newlines\n\n',
      lead: '  leading\nspace',
    };
    expect(toYaml(doc)).toBe(
      [
        'name: demo',
        'list:',
        '  - a',
        '  - k: v',
        '    num: 1',
        '  - []',
        '  - {}',
        'oldBool:',
        '  - "y"',
        '  - "n"',
        'nested:',
        '  - - x',
        '    - z',
        'empty: {}',
        'none: null',
        'text: |',
        '  one',
        '  two',
        'strip: |-',
        '  no newline',
        '  at end',
        'keep: |+',
        '  two newlines',
        '',
        'lead: |2-',
        '    leading',
        '  space',
        '',
      ].join('\n'),
    );
  });
});
