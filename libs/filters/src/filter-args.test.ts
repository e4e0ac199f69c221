import { describe, expect, it } from 'vitest';
import { FilterArgs } from './filter-args.js';

const args = (pairs: Array<[string, string]>) => FilterArgs.from(pairs.map(([key, value]) => ({ key, value })));

describe('FilterArgs (moby filters.Args)', () => {
  it('reads both forms and keeps a set of values per key', () => {
    const a = args([
      ['label', 'a=1'],
      ['label', 'b=2'],
      ['label', 'a=1'],
    ]);
    expect(a.get('label')).toEqual(['a=1', 'b=2']);
    expect(FilterArgs.from({ status: ['running', 'exited'] }).get('status')).toEqual(['running', 'exited']);
    expect(FilterArgs.from(undefined).size).toBe(0);
  });

  it("refuses an unknown key with Docker's message", () => {
    expect(() => args([['foo', 'x']]).validate(['name'])).toThrow("invalid filter 'foo'");
    expect(args([['name', 'x']]).validate(['name']).get('name')).toEqual(['x']);
  });

  it('matchKVList: every label filter must hold (AND)', () => {
    const both = args([
      ['label', 'a=1'],
      ['label', 'b=2'],
    ]);
    expect(both.matchKVList('label', { a: '1', b: '2' })).toBe(true);
    expect(both.matchKVList('label', { a: '1' })).toBe(false);
    expect(both.matchKVList('label', { a: '1', b: '3' })).toBe(false);
    expect(args([['label', 'a']]).matchKVList('label', { a: '' })).toBe(true);
    expect(args([['label', 'a']]).matchKVList('label', {})).toBe(false);
    expect(args([['label', 'a=']]).matchKVList('label', { a: '' })).toBe(true);
    expect(args([]).matchKVList('label', {})).toBe(true);
  });

  it('exactMatch / match / fuzzyMatch: any value may match (OR); no filter matches all', () => {
    const status = args([
      ['status', 'running'],
      ['status', 'exited'],
    ]);
    expect(status.exactMatch('status', 'exited')).toBe(true);
    expect(status.exactMatch('status', 'paused')).toBe(false);
    expect(status.exactMatch('other', 'x')).toBe(true);
    const name = args([['name', '^web-[0-9]$']]);
    expect(name.match('name', 'web-1')).toBe(true);
    expect(name.match('name', 'web-10')).toBe(false);
    expect(args([['name', 'eb']]).match('name', 'web')).toBe(true);
    expect(args([['name', '[']]).match('name', 'web')).toBe(false);
    expect(args([['id', 'abc']]).fuzzyMatch('id', 'abcdef')).toBe(true);
    expect(args([['id', 'bcd']]).fuzzyMatch('id', 'abcdef')).toBe(false);
    expect(args([['type', 'custom']]).uniqueExactMatch('type', 'custom')).toBe(true);
    expect(args([['type', 'custom'], ['type', 'builtin']]).uniqueExactMatch('type', 'custom')).toBe(false);
  });

  it('boolOrDefault: true/1, false/0, else the values in the error', () => {
    expect(args([]).boolOrDefault('dangling', false)).toBe(false);
    expect(args([['dangling', 'true']]).boolOrDefault('dangling', false)).toBe(true);
    expect(args([['dangling', '1']]).boolOrDefault('dangling', false)).toBe(true);
    expect(args([['dangling', '0']]).boolOrDefault('dangling', true)).toBe(false);
    expect(() => args([['dangling', 'yes']]).boolOrDefault('dangling', false)).toThrow("invalid filter 'dangling=[yes]'");
    expect(() =>
      args([
        ['dangling', 'true'],
        ['dangling', 'false'],
      ]).boolOrDefault('dangling', false),
    ).toThrow("invalid filter 'dangling=[true false]'");
  });
});
