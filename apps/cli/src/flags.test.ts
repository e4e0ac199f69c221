import { describe, expect, it } from 'vitest';
import { checkArgCount, type FlagSpec, parseArgs, parseGoInt, parseNanoCpus, validateEnv, validateLabel } from './flags.js';

const flags: FlagSpec[] = [
  { long: 'interactive', short: 'i', type: 'bool', description: '' },
  { long: 'tty', short: 't', type: 'bool', description: '' },
  { long: 'detach', short: 'd', type: 'bool', description: '' },
  { long: 'rm', type: 'bool', description: '' },
  { long: 'env', short: 'e', type: 'list', description: '' },
  { long: 'name', type: 'string', description: '' },
  { long: 'memory', short: 'm', type: 'bytes', description: '' },
  { long: 'cpus', type: 'decimal', description: '' },
  { long: 'timeout', short: 'T', type: 'int', aliases: ['time'], description: '' },
  { long: 'filter', short: 'f', type: 'filter', description: '' },
  { long: 'sig-proxy', type: 'bool', default: true, description: '' },
];

describe('parseArgs', () => {
  it('combines short booleans and stops at the first positional for run', () => {
    const p = parseArgs(flags, ['-it', '--rm', 'busybox', 'ls', '-l', '--name', 'x'], { interspersed: false });
    expect(p.values).toMatchObject({ interactive: true, tty: true, rm: true, name: '' });
    expect(p.args).toEqual(['busybox', 'ls', '-l', '--name', 'x']);
  });

  it('reads values attached, separated and after = for short and long flags, repeated lists in order', () => {
    const p = parseArgs(flags, ['-e', 'A=1', '-eB=2', '-e=C=3', '--env=D=4', '--env', 'E=5', '--name=web', '--name', 'last', 'img']);
    expect(p.values.env).toEqual(['A=1', 'B=2', 'C=3', 'D=4', 'E=5']);
    expect(p.values.name).toBe('last');
    expect(p.changed.has('name')).toBe(true);
    expect(p.changed.has('rm')).toBe(false);
  });

  it('lets options follow arguments for ordinary commands, and -- end them', () => {
    const p = parseArgs(flags, ['web', '-d', '--', '-i', '-']);
    expect(p.values.detach).toBe(true);
    expect(p.values.interactive).toBe(false);
    expect(p.args).toEqual(['web', '-i', '-']);
  });

  it('parses booleans with values, defaults and types like pflag', () => {
    const p = parseArgs(flags, ['--rm=false', '-d=true', '--sig-proxy=false', '-m', '1.5g', '--cpus', '0.5', '--time', '3']);
    expect(p.values).toMatchObject({ rm: false, detach: true, 'sig-proxy': false, memory: 1.5 * 1024 ** 3, cpus: 0.5, timeout: 3 });
    expect(parseArgs(flags, []).values['sig-proxy']).toBe(true);
    expect(parseArgs(flags, ['-m512m']).values.memory).toBe(512 * 1024 * 1024);
  });

  it('recognises --help and -h (where -h means nothing else)', () => {
    expect(parseArgs(flags, ['--help']).help).toBe(true);
    expect(parseArgs(flags, ['-h']).help).toBe(true);
  });

  it('fails with pflag wording', () => {
    expect(() => parseArgs(flags, ['--foo'])).toThrow(/^unknown flag: --foo$/);
    expect(() => parseArgs(flags, ['--foo=1'])).toThrow(/^unknown flag: --foo$/);
    expect(() => parseArgs(flags, ['-itx'])).toThrow(/^unknown shorthand flag: 'x' in -x$/);
    expect(() => parseArgs(flags, ['--name'])).toThrow(/^flag needs an argument: --name$/);
    expect(() => parseArgs(flags, ['-e'])).toThrow(/^flag needs an argument: 'e' in -e$/);
    expect(() => parseArgs(flags, ['--rm=maybe'])).toThrow('invalid argument "maybe" for "--rm" flag: strconv.ParseBool: parsing "maybe": invalid syntax');
    expect(() => parseArgs(flags, ['-T', 'x'])).toThrow('invalid argument "x" for "-T, --timeout" flag: strconv.ParseInt: parsing "x": invalid syntax');
    expect(() => parseArgs(flags, ['-m', '10x'])).toThrow(`invalid argument "10x" for "-m, --memory" flag: invalid suffix: 'x'`);
    expect(() => parseArgs(flags, ['--cpus', 'abc'])).toThrow('invalid argument "abc" for "--cpus" flag: failed to parse abc as a rational number');
    expect(() => parseArgs(flags, ['-f', 'status'])).toThrow('invalid argument "status" for "-f, --filter" flag: bad format of filter (expected name=value)');
  });
});

describe('value parsers (docker\'s opts and Go\'s strconv)', () => {
  it('reads integers as ParseInt with base 0', () => {
    const cases: Array<[string, bigint | undefined]> = [
      ['10', 10n], ['-12', -12n], ['+7', 7n], ['0', 0n], ['0x1F', 31n], ['0o17', 15n], ['017', 15n], ['0b101', 5n], ['1_000', 1000n], ['0x_ff', 255n],
      ['', undefined], [' 5', undefined], ['1e3', undefined], ['08', undefined], ['1__0', undefined], ['_1', undefined], ['1_', undefined], ['0x', undefined], ['--1', undefined],
    ];
    for (const [text, value] of cases) expect(parseGoInt(text), text).toBe(value);
  });

  it('reads CPUs as exact rationals, as ParseCPUs', () => {
    expect(parseNanoCpus('1.5')).toEqual({ value: 1_500_000_000n, remainder: 0n });
    expect(parseNanoCpus('3/2')).toEqual({ value: 1_500_000_000n, remainder: 0n });
    expect(parseNanoCpus('2e-1')).toEqual({ value: 200_000_000n, remainder: 0n });
    expect(parseNanoCpus('-1')).toEqual({ value: -1_000_000_000n, remainder: 0n });
    expect(parseNanoCpus('.000000001')).toEqual({ value: 1n, remainder: 0n });
    expect(parseNanoCpus('0.0000000001')?.remainder).not.toBe(0n);
    expect(parseNanoCpus('0e99999999999')).toEqual({ value: 0n, remainder: 0n });
    expect(parseNanoCpus('1e99999999999')!.value > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
    for (const bad of ['', '.', 'abc', '1/0', '1.2.3', '1e', 'Infinity', '0x10']) expect(parseNanoCpus(bad), bad).toBeUndefined();
  });

  it('validates env and label entries', () => {
    expect(validateEnv('A=1')).toBeUndefined();
    expect(validateEnv(' =1')).toBeUndefined();
    expect(validateEnv('=1')).toBe('invalid environment variable: =1');
    expect(validateLabel('a=')).toBeUndefined();
    expect(validateLabel('\t=x')).toBe("invalid label '\t=x': empty name");
  });
});

describe('checkArgCount', () => {
  it('words the message as docker does', () => {
    expect(checkArgCount({ min: 1 }, 0, 'berth rm')).toEqual({ message: "'berth rm' requires at least 1 argument", see: true });
    expect(checkArgCount({ min: 1, max: 1 }, 2, 'berth logs')).toEqual({ message: "'berth logs' requires 1 argument", see: false });
    expect(checkArgCount({ min: 2, max: 2 }, 1, 'berth rename')).toEqual({ message: "'berth rename' requires 2 arguments", see: false });
    expect(checkArgCount({ max: 0 }, 1, 'berth ps')).toEqual({ message: "'berth ps' accepts no arguments", see: false });
    expect(checkArgCount({ min: 1 }, 3, 'berth rm')).toBeUndefined();
  });
});
