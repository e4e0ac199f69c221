import { describe, expect, it } from 'vitest';
import { DockerfileError } from './dockerfile-error.js';
import { parseAndExpand } from './parse-and-expand.js';

describe('parseAndExpand', () => {
  it('expands every instruction of the stages (not FROM) with the ENV before it, across stages', () => {
    const out = parseAndExpand('FROM a\nENV A=one\nENV B=$A-two\nFROM b\nWORKDIR /$B\n');
    expect(out.map((i) => i.kind)).toEqual(['ENV', 'ENV', 'WORKDIR']);
    expect(out[1]).toMatchObject({ kind: 'ENV', pairs: [['B', 'one-two']] });
    expect(out[2]).toMatchObject({ kind: 'WORKDIR', path: '/one-two' });
  });

  it('throws the error of a bad line', () => {
    expect(() => parseAndExpand('FROM a\nNOPE x\n')).toThrow(DockerfileError);
  });
});
