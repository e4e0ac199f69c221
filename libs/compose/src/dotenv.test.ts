import { describe, expect, it } from 'vitest';
import { parseDotenv } from './dotenv.js';

const parse = (text: string, lookup: Record<string, string> = {}, raw = false) =>
  Object.fromEntries(parseDotenv(text, { file: 'app.env', lookup: (n) => lookup[n], raw }));

describe('parseDotenv (05-services.md, "Env_file format")', () => {
  it('follows every rule of the specification', () => {
    const text = [
      '# Set Rails/Rack environment',
      '',
      'RACK_ENV=development',
      'VAR="quoted"',
      "SQ='single'",
      'C1=VAL # comment',
      'C2=VAL# not a comment',
      'C3="VAL # not a comment"',
      'C4="VAL" # comment',
      "L1='$OTHER'",
      "L2='${OTHER}'",
      "E1='Let\\'s go!'",
      'E2="{\\"hello\\": \\"json\\"}"',
      'T1="some\\tvalue"',
      "T2='some\\tvalue'",
      'T3=some\\tvalue',
      'EMPTY=',
      'UNSET_HERE',
      'export EXPORTED=1',
      'ML="a',
      'b"',
      'X=${RACK_ENV}-${FROM_ENV}',
      '  INDENTED = spaced  ',
    ].join('\n');
    expect(parse(text, { FROM_ENV: 'env', UNSET_HERE: 'inherited' })).toEqual({
      RACK_ENV: 'development',
      VAR: 'quoted',
      SQ: 'single',
      C1: 'VAL',
      C2: 'VAL# not a comment',
      C3: 'VAL # not a comment',
      C4: 'VAL',
      L1: '$OTHER',
      L2: '${OTHER}',
      E1: "Let's go!",
      E2: '{"hello": "json"}',
      T1: 'some\tvalue',
      T2: 'some\\tvalue',
      T3: 'some\\tvalue',
      EMPTY: '',
      UNSET_HERE: 'inherited',
      EXPORTED: '1',
      ML: 'a\nb',
      X: 'development-env',
      INDENTED: 'spaced',
    });
  });

  it('leaves a bare name unset when the environment does not have it', () => {
    expect(parse('ALONE\nB=1')).toEqual({ B: '1' });
  });

  it('keeps raw values exactly', () => {
    expect(parse('A="q" $X # c\nB=${Y}', {}, true)).toEqual({ A: '"q" $X # c', B: '${Y}' });
  });

  it('names the file and line of a syntax error', () => {
    expect(() => parse('A=1\nBAD KEY=2')).toThrow('app.env:2: invalid variable name "BAD KEY"');
    expect(() => parse('A=1\nB="open\n')).toThrow('app.env:2: unterminated quoted value for B');
    expect(() => parse('A="x" y')).toThrow('app.env:1: unexpected "y" after the quoted value of A');
    expect(() => parse('A=${B:?needed}')).toThrow('app.env:1: required variable B is missing a value: needed');
  });
});
