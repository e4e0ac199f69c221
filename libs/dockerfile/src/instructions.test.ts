import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { InvalidArgumentError } from '@berth/errors';
import { describe, expect, it } from 'vitest';
import { thrownBy } from '@berth/testing';
import { DockerfileError } from './dockerfile-error.js';
import { parseDockerfile, parseOnbuildTriggers } from './instructions.js';

// Golden cases: testdata/NAME.Dockerfile is parsed and compared with testdata/NAME.json. A missing
// NAME.json fails the test; write it (or regenerate after an intended change) with
// `UPDATE_GOLDEN=1 npx vitest run libs/dockerfile`, then review the diff: the JSON is the specification.
const testdata = new URL('../testdata/', import.meta.url);
const update = process.env.UPDATE_GOLDEN === '1';

describe('golden Dockerfiles', () => {
  const names = readdirSync(testdata).filter((f) => f.endsWith('.Dockerfile')).map((f) => f.slice(0, -'.Dockerfile'.length));
  it('has cases', () => expect(names.length).toBeGreaterThan(5));
  for (const name of names) {
    it(name, () => {
      const text = readFileSync(new URL(`${name}.Dockerfile`, testdata), 'utf8');
      const actual = JSON.parse(JSON.stringify(parseDockerfile(text)));
      const expectedFile = new URL(`${name}.json`, testdata);
      if (update) writeFileSync(expectedFile, JSON.stringify(actual, null, 2) + '\n');
      if (!existsSync(expectedFile)) {
        throw new Error(`Missing expectation testdata/${name}.json: write it with UPDATE_GOLDEN=1 npx vitest run libs/dockerfile, then review it`);
      }
      expect(actual).toEqual(JSON.parse(readFileSync(expectedFile, 'utf8')));
    });
  }
});

describe('invalid Dockerfiles', () => {
  const dir = new URL('errors/', testdata);
  const names = readdirSync(dir).filter((f) => f.endsWith('.Dockerfile')).map((f) => f.slice(0, -'.Dockerfile'.length));
  it('has cases', () => expect(names.length).toBeGreaterThan(20));
  for (const name of names) {
    it(name, () => {
      const text = readFileSync(new URL(`${name}.Dockerfile`, dir), 'utf8');
      const expected = readFileSync(new URL(`${name}.error`, dir), 'utf8').trim();
      const error = thrownBy(() => parseDockerfile(text));
      expect(error).toBeInstanceOf(DockerfileError);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      const e = error as DockerfileError;
      expect(e.message).toBe(expected);
      const line = /^dockerfile parse error on line (\d+):/.exec(expected)?.[1];
      expect(e.detail).toMatchObject({ file: 'Dockerfile', line: line === undefined ? 0 : Number(line) });
    });
  }
});

describe('parseDockerfile', () => {
  it('words errors as BuildKit does, and names the file given in the detail and locations', () => {
    const error = thrownBy(() => parseDockerfile('FROM a\nCOPY x\n', { file: 'build/app.Dockerfile' }));
    expect((error as DockerfileError).message).toBe(
      'dockerfile parse error on line 2: COPY requires at least two arguments, but only one was provided. Destination could not be determined.',
    );
    expect((error as DockerfileError).detail).toEqual({ file: 'build/app.Dockerfile', line: 2, endLine: 2, instruction: 'COPY' });
    const df = parseDockerfile('FROM a\n', { file: 'x.Dockerfile' });
    expect(df.stages[0]!.from.location).toEqual({ file: 'x.Dockerfile', line: 1, endLine: 1 });
  });

  it('reports the instruction in the error detail', () => {
    try {
      parseDockerfile('FROM a\nSHELL sh -c\n');
      expect.unreachable();
    } catch (err) {
      expect((err as DockerfileError).detail).toEqual({ file: 'Dockerfile', line: 2, endLine: 2, instruction: 'SHELL' });
    }
  });

  it('treats # inside a line as text, not a comment', () => {
    const df = parseDockerfile('FROM a\nRUN echo hello # not a comment\n');
    expect(df.stages[0]!.instructions[0]).toMatchObject({ kind: 'RUN', command: 'echo hello # not a comment' });
  });

  it('handles CRLF line endings', () => {
    const df = parseDockerfile('FROM a\r\nRUN echo a \\\r\n  b\r\nCMD ["x"]\r\n');
    expect(df.stages[0]!.instructions.map((i) => ('command' in i ? i.command : undefined))).toEqual(['echo a   b', ['x']]);
  });

  it('keeps heredoc bodies in original so that cache keys see them', () => {
    const df = parseDockerfile('FROM a\nRUN <<EOF\necho 1\nEOF\n');
    expect(df.stages[0]!.instructions[0]!.original).toBe('RUN <<EOF\necho 1\nEOF');
    expect(df.stages[0]!.instructions[0]!.location).toEqual({ file: 'Dockerfile', line: 2, endLine: 4 });
  });

  it('warns about empty continuation lines', () => {
    const df = parseDockerfile('FROM a\nRUN a \\\n\n  b\n');
    expect(df.warnings).toEqual([
      'Dockerfile:2: Empty continuation line found in: RUN a   b (empty continuation lines will become errors in a future release)',
    ]);
  });
});

describe('limits', () => {
  const lineError = (line: number) => `dockerfile parse error on line ${line}: dockerfile line greater than max allowed size of 65535`;

  it('accepts physical lines of up to 65535 bytes, as BuildKit does', () => {
    const df = parseDockerfile(`FROM a\nLABEL a=${'x'.repeat(65535 - 'LABEL a='.length)}\n`);
    expect(df.stages[0]!.instructions).toHaveLength(1);
  });

  it('refuses a longer line, counting bytes and naming the line', () => {
    expect(() => parseDockerfile(`FROM a\nLABEL a=${'x'.repeat(65536 - 'LABEL a='.length)}\n`)).toThrow(lineError(2));
    expect(() => parseDockerfile(`FROM a\n\nLABEL a=${'é'.repeat(32764)}\n`)).toThrow(lineError(3));
    expect(() => parseDockerfile(`FROM a\nRUN <<EOF\n${'x'.repeat(70_000)}\nEOF\n`)).toThrow(lineError(3));
    expect(() => parseDockerfile(`# ${'x'.repeat(70_000)}\nFROM a\n`)).toThrow(lineError(1));
  });

  it('accepts longer instructions made of continuation lines', () => {
    const df = parseDockerfile(`FROM a\nRUN ${'x'.repeat(60_000)} \\\n  ${'y'.repeat(60_000)}\n`);
    expect((df.stages[0]!.instructions[0] as { command: string }).command).toHaveLength(120_003);
  });

  it('quotes at most 80 characters of a value in a message', () => {
    expect(() => parseDockerfile(`FROM a\n${'A'.repeat(5000)} x\n`)).toThrow(
      new RegExp(`^dockerfile parse error on line 2: unknown instruction: A{80}…$`),
    );
  });
});

describe('parseOnbuildTriggers', () => {
  it('parses triggers stored in an image config, heredocs included', () => {
    const parent = parseDockerfile('FROM a\nONBUILD RUN <<EOF\necho hi\nEOF\nONBUILD COPY --chown=1 . /app\n');
    const texts = parent.stages[0]!.instructions.map((i) => (i.kind === 'ONBUILD' ? i.text : ''));
    expect(texts).toEqual(['RUN <<EOF\necho hi\nEOF', 'COPY --chown=1 . /app']);
    const triggers = parseOnbuildTriggers(texts, { file: 'ONBUILD of parent' });
    expect(triggers[0]).toMatchObject({ kind: 'RUN', command: '<<EOF', heredocs: [{ name: 'EOF', content: 'echo hi\n' }] });
    expect(triggers[1]).toMatchObject({ kind: 'COPY', chown: '1', sources: ['.'], dest: '/app' });
  });

  it('rejects forbidden triggers, naming the image rather than a line of the Dockerfile', () => {
    expect(() => parseOnbuildTriggers(['FROM x'], { file: 'ONBUILD of parent' })).toThrow(
      "ONBUILD of parent:1: FROM isn't allowed as an ONBUILD trigger",
    );
    expect(() => parseOnbuildTriggers(['RUN <<EOF\nx'], { file: 'ONBUILD of parent' })).toThrow('ONBUILD of parent:1: unterminated heredoc');
  });
});
