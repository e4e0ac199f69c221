import { InvalidArgumentError } from '@berth/errors';
import { describe, expect, it } from 'vitest';
import { thrownBy } from '@berth/testing';
import { DockerfileError } from './dockerfile-error.js';
import { expandHeredoc, expandInstruction, expandWordList, expandWords } from './expand.js';
import { parseDockerfile } from './instructions.js';
import type { Instruction } from './types.js';

const env = { PWD: '/home', EMPTY: '', FILE: 'archive.tar.gz', P: '1 2', X: 'x' };

describe('expandWords', () => {
  const cases: Array<[string, string]> = [
    ['hello', 'hello'],
    ["he'll'o", 'hello'],
    ["he\\'llo", "he'llo"],
    ['abc\\\\de', 'abc\\de'],
    ['"abc\\\\de"', 'abc\\de'],
    ['"abc\\de"', 'abc\\de'],
    ["'abc\\de'", 'abc\\de'],
    ['"a \\"b\\" c"', 'a "b" c'],
    ['hell$', 'hell$'],
    ['$ sign', '$ sign'],
    ['hello$PWD', 'hello/home'],
    ['hello${PWD}x', 'hello/homex'],
    ['${PWD}/${UNSET}/end', '/home//end'],
    ["'$PWD'", '$PWD'],
    ['"$PWD"', '/home'],
    ['\\$PWD', '$PWD'],
    ['"\\$PWD"', '$PWD'],
    ['${PWD:-xx}', '/home'],
    ['${UNSET:-xx}', 'xx'],
    ['${EMPTY:-xx}', 'xx'],
    ['${EMPTY-xx}', ''],
    ['${UNSET-xx}', 'xx'],
    ['${PWD:+xx}', 'xx'],
    ['${EMPTY:+xx}', ''],
    ['${EMPTY+xx}', 'xx'],
    ['${UNSET+xx}', ''],
    ['${UNSET:-$PWD/sub}', '/home/sub'],
    ['${UNSET:-"a  b"}', 'a  b'],
    ['${PWD?unused}', '/home'],
    ['${FILE%.*}', 'archive.tar'],
    ['${FILE%%.*}', 'archive'],
    ['${FILE#*.}', 'tar.gz'],
    ['${FILE##*.}', 'gz'],
    ['$1$@x', 'x'],
    ['a  "b  c"', 'a  b  c'],
    ['trailing\\', 'trailing'],
  ];
  for (const [input, expected] of cases) {
    it(`${input} → ${expected}`, () => expect(expandWords(input, env)).toBe(expected));
  }

  it('accepts a Map', () => {
    expect(expandWords('$A-$B', new Map([['A', '1'], ['B', '2']]))).toBe('1-2');
  });

  it('uses the escape directive', () => {
    expect(expandWords('c:\\path\\$X', env, { escape: '`' })).toBe('c:\\path\\x');
    expect(expandWords('a` b `$X', env, { escape: '`' })).toBe('a b $X');
  });

  it('reports the variables it used', () => {
    const used = new Set<string>();
    expandWords('$PWD ${UNSET:-$X} ${EMPTY}', env, { used });
    expect([...used].sort()).toEqual(['EMPTY', 'PWD', 'X']);
  });

  const errors: Array<[string, string]> = [
    ["he'llo", `failed to process "he'llo": unexpected end of statement while looking for matching single-quote`],
    ['"open', 'failed to process ""open": unexpected end of statement while looking for matching double-quote'],
    ['${PWD', `failed to process "\${PWD": syntax error: missing '}'`],
    ['${}', 'failed to process "${}": syntax error: bad substitution'],
    ['${UNSET:?must be set}', 'failed to process "${UNSET:?must be set}": UNSET: must be set'],
    ['${UNSET?}', 'failed to process "${UNSET?}": UNSET: is not allowed to be unset'],
    ['${EMPTY:?}', 'failed to process "${EMPTY:?}": EMPTY: is not allowed to be empty'],
    ['${PWD:=x}', 'failed to process "${PWD:=x}": unsupported modifier (=) in substitution'],
  ];
  for (const [input, message] of errors) {
    it(`rejects ${input}`, () => expect(() => expandWords(input, env)).toThrow(message));
  }

  it('allows 100 levels of nested substitutions and refuses more, without overflowing the stack', () => {
    const nested = (n: number) => '${A:-'.repeat(n) + 'x' + '}'.repeat(n);
    expect(expandWords(nested(100), {})).toBe('x');
    expect(() => expandWords(nested(101), {})).toThrow(
      new InvalidArgumentError(`failed to process "${nested(101).slice(0, 80)}…": variable substitutions nested more than 100 levels deep`),
    );
    expect(() => expandWords(nested(20_000), {})).toThrow('variable substitutions nested more than 100 levels deep');
    expect(() => expandWords('${A:-'.repeat(20_000), {})).toThrow('variable substitutions nested more than 100 levels deep');
  });

  it('refuses values that expand beyond 1 MiB (ENV A=$A$A repeated)', () => {
    const half = 'a'.repeat(512 * 1024);
    expect(expandWords('$A$A', { A: half })).toHaveLength(1024 * 1024);
    expect(() => expandWords('$A$A"$A"', { A: half })).toThrow('expanded value is longer than 1048576 characters');
    expect(() => expandWords('"$A$A$A"', { A: half })).toThrow('expanded value is longer than 1048576 characters');
  });

  it('names the location when given', () => {
    const location = { file: 'Dockerfile', line: 7, endLine: 8 };
    const error = thrownBy(() => expandWords('${A:?required}', {}, { location, instruction: 'ENV' }));
    expect(error).toBeInstanceOf(DockerfileError);
    expect((error as DockerfileError).message).toBe('Dockerfile:7: failed to process "${A:?required}": A: required');
    expect((error as DockerfileError).detail).toEqual({ file: 'Dockerfile', line: 7, endLine: 8, instruction: 'ENV' });
  });
});

describe('expandWordList', () => {
  it('splits unquoted substitutions and keeps quoted whitespace', () => {
    expect(expandWordList('80 "a b" $P \'$P\' "$P"', env)).toEqual(['80', 'a b', '1', '2', '$P', '1 2']);
  });
  it('returns no words for blank text', () => {
    expect(expandWordList('  $EMPTY  ', env)).toEqual([]);
  });
});

describe('expandHeredoc', () => {
  it('expands like an unquoted shell here-document', () => {
    const doc = { name: 'EOF', expand: true, chomp: false, content: 'a=$X "$PWD" \'q\' \\$X \\\\ \\n join\\\nline\n' };
    expect(expandHeredoc(doc, env)).toBe('a=x "/home" \'q\' $X \\ \\n joinline\n');
  });
  it('leaves quoted-delimiter documents alone', () => {
    const doc = { name: 'EOF', expand: false, chomp: false, content: '$X\n' };
    expect(expandHeredoc(doc, env)).toBe('$X\n');
  });
});

describe('expandInstruction', () => {
  const stage = (text: string): Instruction[] => parseDockerfile(`FROM a\n${text}\n`).stages[0]!.instructions;

  it('expands ENV with the environment before the instruction', () => {
    const [envInst] = stage('ENV A=1 B=$A C="two words" D=escaped\\ space "E"=\'$X\'');
    const { instruction, used } = expandInstruction(envInst!, { A: 'old', X: 'x' });
    expect(instruction).toMatchObject({ pairs: [['A', '1'], ['B', 'old'], ['C', 'two words'], ['D', 'escaped space'], ['E', '$X']] });
    expect([...used]).toEqual(['A']);
  });

  it('expands COPY sources, destination, flags and heredocs', () => {
    const [copy] = stage('COPY --chown=$U --from=$S --exclude=$EX src/$F <<EOF $DEST\nhi $U\nEOF');
    const { instruction } = expandInstruction(copy!, { U: 'app', S: 'build', EX: '*.md', F: 'f', DEST: '/d/' });
    expect(instruction).toMatchObject({ chown: 'app', from: 'build', excludes: ['*.md'], sources: ['src/f'], dest: '/d/', heredocs: [{ content: 'hi app\n' }] });
  });

  it('splits EXPOSE ports into port/proto keys, ranges expanded, and expands FROM', () => {
    const [expose] = stage('EXPOSE $PORTS 53/UDP 8080-8082 80');
    expect(expandInstruction(expose!, { PORTS: '80 443' }).instruction).toMatchObject({
      ports: ['80/tcp', '443/tcp', '53/udp', '8080/tcp', '8081/tcp', '8082/tcp'],
    });
    const from = parseDockerfile('ARG V\nFROM --platform=$P alpine:${V:-latest}\n').stages[0]!.from;
    expect(expandInstruction(from, { P: 'linux/amd64' }).instruction).toMatchObject({ image: 'alpine:latest', platform: 'linux/amd64' });
  });

  it('does not touch RUN, CMD or ENTRYPOINT commands', () => {
    const [run, cmd] = stage('RUN echo $X\nCMD echo $X');
    expect(expandInstruction(run!, { X: '1' }).instruction).toEqual(run);
    expect(expandInstruction(cmd!, { X: '1' }).instruction).toEqual(cmd);
  });

  it('refuses EXPOSE values Docker refuses, at the instruction', () => {
    const [expose] = stage('\nEXPOSE 80 $P');
    expect(() => expandInstruction(expose!, { P: '90-80' })).toThrow('Dockerfile:3: invalid containerPort: 90-80');
    expect(() => expandInstruction(expose!, { P: '53/icmp' })).toThrow('Dockerfile:3: invalid proto: icmp');
  });

  it('reports errors at the instruction', () => {
    const [workdir] = stage('\n\nWORKDIR ${DIR:?set DIR}');
    expect(() => expandInstruction(workdir!, {})).toThrow('Dockerfile:4: failed to process "${DIR:?set DIR}": DIR: set DIR');
  });
});
