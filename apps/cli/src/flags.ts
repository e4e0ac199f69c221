import { ramInBytes } from './units.js';

/**
 * Docker-style (spf13/pflag) command-line parsing: `-it` combines booleans, `-e X=1`, `-eX=1`,
 * `-e=X=1`, `--name=x`, `--name x`, repeated list flags, `--rm` / `--rm=false`, `--` ends the
 * options, `-` is an argument. Commands that run another program (run, create, exec) stop at the
 * first argument, so `berth run busybox ls -l` leaves `-l` to the container. Errors carry pflag's
 * wording (`unknown flag: --foo`, `flag needs an argument: --name`, `invalid argument "x" for
 * "-t, --timeout" flag: …`); the caller prints them with the usage line and exits 125 as docker does.
 */

/**
 * bool: `--rm`, `--rm=false`; string: last value wins; list: every value in order; int: an integer
 * as Go's ParseInt(s, 0, bits) reads it (`10`, `0x10`, `1_000`); bytes: a size with unit (`512m`,
 * go-units RAMInBytes); decimal: a number of CPUs (`--cpus 1.5`, `3/2`; docker's NanoCPUs: at most
 * 9 decimals); filter: a list of `key=value`; duration: a Go duration (`30s`, `1m30s`),
 * kept as written for the command to parse (help shows `duration`).
 */
export type FlagType = 'bool' | 'string' | 'list' | 'int' | 'bytes' | 'decimal' | 'filter' | 'duration';

export interface FlagSpec {
  /** Long name without dashes (`name`); values are keyed by it. */
  long: string;
  /** One-letter shorthand (`e`). */
  short?: string;
  type: FlagType;
  description: string;
  /** Default when the flag is absent (bool false, string '', list [], number 0 otherwise). */
  default?: boolean | string | number;
  /** Other long names accepted (and hidden), e.g. `time` for `stop --timeout`. */
  aliases?: string[];
  /** Accepted but not listed in --help. */
  hidden?: boolean;
  /** int: the integer size the value travels as (default 64, limited to 2^53 - 1, see intRange). */
  bits?: 32 | 64;
  /** Checks each value (list and string flags); returns the reason it is invalid, as docker's opts. */
  validate?: (value: string) => string | undefined;
  /** The value's type as --help names it, when it is not the parser's (`bytes`, `ulimit`, `map`). */
  typeName?: string;
}

export type FlagValue = boolean | string | number | string[];

export interface ParsedArgs {
  /** Value of every declared flag (defaults included), by long name. */
  values: Record<string, FlagValue>;
  /** Long names of the flags given on the command line. */
  changed: Set<string>;
  /** Positional arguments, in order. */
  args: string[];
  /** `--help` was given (or `-h` on a command where -h means nothing else). */
  help: boolean;
}

export interface ParseOptions {
  /** false: stop at the first positional argument (run, create, exec). Default true. */
  interspersed?: boolean;
}

/** A malformed command line: docker prints it with the usage and exits 125. */
export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

/** `-t, --timeout` or `--rm`, as pflag names a flag in errors and help. */
export function flagDisplayName(flag: FlagSpec): string {
  return flag.short ? `-${flag.short}, --${flag.long}` : `--${flag.long}`;
}

function defaultValue(flag: FlagSpec): FlagValue {
  if (flag.default !== undefined) return flag.default;
  switch (flag.type) {
    case 'bool':
      return false;
    case 'string':
    case 'duration':
      return '';
    case 'list':
    case 'filter':
      return [];
    default:
      return 0;
  }
}

/** strconv.ParseBool */
function parseBool(text: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return undefined;
}

function convert(flag: FlagSpec, text: string, previous: FlagValue): FlagValue {
  const invalid = (reason: string): never => {
    throw new FlagError(`invalid argument "${text}" for "${flagDisplayName(flag)}" flag: ${reason}`);
  };
  switch (flag.type) {
    case 'bool': {
      const value = parseBool(text);
      return value ?? invalid(`strconv.ParseBool: parsing "${text}": invalid syntax`);
    }
    case 'duration':
      return text;
    case 'string':
    case 'list': {
      const reason = flag.validate?.(text);
      if (reason !== undefined) invalid(reason);
      return flag.type === 'string' ? text : [...(previous as string[]), text];
    }
    case 'filter':
      if (!text.includes('=')) invalid('bad format of filter (expected name=value)');
      return [...(previous as string[]), text];
    case 'int': {
      const value = parseGoInt(text);
      if (value === undefined) return invalid(`strconv.ParseInt: parsing ${JSON.stringify(text)}: invalid syntax`);
      const [min, max] = intRange(flag.bits ?? 64);
      if (value < min || value > max) invalid(`strconv.ParseInt: parsing ${JSON.stringify(text)}: value out of range`);
      return Number(value);
    }
    case 'bytes':
      try {
        return ramInBytes(text);
      } catch (err) {
        return invalid((err as Error).message);
      }
    case 'decimal': {
      const nanos = parseNanoCpus(text);
      if (nanos === undefined) return invalid(`failed to parse ${text} as a rational number`);
      if (nanos.remainder !== 0n) invalid('value is too precise');
      const [min, max] = intRange(64);
      if (nanos.value < min || nanos.value > max) invalid('value out of range');
      return Number(nanos.value) / 1e9;
    }
  }
}

/**
 * The integers a flag may hold. Go's ParseInt checks the flag's own size; Berth's gRPC messages
 * carry 64-bit integers but are decoded into JavaScript numbers, exact up to 2^53 - 1, so larger
 * values are refused here rather than by the server ("value out of range" either way).
 */
function intRange(bits: 32 | 64): [bigint, bigint] {
  return bits === 32 ? [-(2n ** 31n), 2n ** 31n - 1n] : [BigInt(Number.MIN_SAFE_INTEGER), BigInt(Number.MAX_SAFE_INTEGER)];
}

/** Go's ParseInt with base 0: `-12`, `+7`, `0x1f`, `0o17`, `017` (octal), `0b101`, `1_000`. */
export function parseGoInt(text: string): bigint | undefined {
  const m = /^([+-]?)(0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|0(?:_?[0-7])*|[1-9](?:_?[0-9])*)$/.exec(text);
  if (!m) return undefined;
  let digits = m[2]!.replace(/_/g, '');
  if (/^0[0-7]+$/.test(digits)) digits = `0o${digits.slice(1)}`;
  const value = BigInt(digits.replace(/^0O/, '0o').replace(/^0X/, '0x').replace(/^0B/, '0b'));
  return m[1] === '-' ? -value : value;
}

/**
 * docker's opts.ParseCPUs: the value as an exact rational (`1.5`, `2e-1`, `3/2`) times 1e9, as
 * integer nanoCPUs plus the remainder (non-zero: "value is too precise"); undefined when it is not
 * a number.
 */
export function parseNanoCpus(text: string): { value: bigint; remainder: bigint } | undefined {
  let numerator: bigint;
  let denominator: bigint;
  const fraction = /^([+-]?\d+)\/(\d+)$/.exec(text);
  const decimal = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (fraction) {
    numerator = BigInt(fraction[1]!);
    denominator = BigInt(fraction[2]!);
    if (denominator === 0n) return undefined;
  } else if (decimal && (decimal[2] !== '' || (decimal[3] ?? '') !== '')) {
    const [, sign, whole, frac = '', exp = '0'] = decimal;
    const exponent = Number(exp) - frac.length;
    numerator = BigInt(`${sign}${whole}${frac}` || '0');
    // Exact arithmetic as big.Rat, without building 10^1000000 for `1e1000000`.
    if (numerator === 0n) return { value: 0n, remainder: 0n };
    if (exponent > 1000 && numerator !== 0n) return { value: numerator > 0n ? 2n ** 64n : -(2n ** 64n), remainder: 0n };
    if (exponent < -1000 && numerator !== 0n) return { value: 0n, remainder: 1n };
    denominator = 1n;
    if (exponent >= 0) numerator *= 10n ** BigInt(exponent);
    else denominator = 10n ** BigInt(-exponent);
  } else {
    return undefined;
  }
  const scaled = numerator * 1_000_000_000n;
  return { value: scaled / denominator, remainder: scaled % denominator };
}

/** docker's opts.ValidateEnv (`-e`): a variable needs a name. */
export function validateEnv(value: string): string | undefined {
  return value.split('=')[0] === '' ? `invalid environment variable: ${value}` : undefined;
}

/** docker's opts.ValidateLabel (`--label`): a label needs a name. */
export function validateLabel(value: string): string | undefined {
  return value.split('=')[0]!.trim() === '' ? `invalid label '${value}': empty name` : undefined;
}

/** Parses `argv` (the words after the command name) against the command's flags. */
export function parseArgs(flags: FlagSpec[], argv: string[], options: ParseOptions = {}): ParsedArgs {
  const interspersed = options.interspersed ?? true;
  const values: Record<string, FlagValue> = {};
  for (const flag of flags) values[flag.long] = defaultValue(flag);
  const changed = new Set<string>();
  const args: string[] = [];
  let help = false;

  const byLong = new Map<string, FlagSpec>();
  const byShort = new Map<string, FlagSpec>();
  for (const flag of flags) {
    byLong.set(flag.long, flag);
    for (const alias of flag.aliases ?? []) byLong.set(alias, flag);
    if (flag.short) byShort.set(flag.short, flag);
  }
  const set = (flag: FlagSpec, text: string): void => {
    values[flag.long] = convert(flag, text, changed.has(flag.long) ? values[flag.long]! : defaultValue(flag));
    changed.add(flag.long);
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      args.push(arg);
      if (!interspersed) {
        args.push(...argv.slice(i + 1));
        break;
      }
      continue;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const flag = byLong.get(name);
      if (!flag) {
        if (name === 'help') {
          help = true;
          continue;
        }
        throw new FlagError(`unknown flag: --${name}`);
      }
      if (eq >= 0) set(flag, arg.slice(eq + 1));
      else if (flag.type === 'bool') set(flag, 'true');
      else if (i + 1 < argv.length) set(flag, argv[++i]!);
      else throw new FlagError(`flag needs an argument: --${name}`);
      continue;
    }
    // Shorthands: -it, -eX=1, -e X=1, -e=X=1, -d=false
    let rest = arg.slice(1);
    while (rest.length > 0) {
      const c = rest[0]!;
      const flag = byShort.get(c);
      if (!flag) {
        if (c === 'h') {
          help = true;
          rest = rest.slice(1);
          continue;
        }
        throw new FlagError(`unknown shorthand flag: '${c}' in -${rest}`);
      }
      if (rest.length > 2 && rest[1] === '=') {
        set(flag, rest.slice(2));
        rest = '';
      } else if (flag.type === 'bool') {
        set(flag, 'true');
        rest = rest.slice(1);
      } else if (rest.length > 1) {
        set(flag, rest.slice(1));
        rest = '';
      } else if (i + 1 < argv.length) {
        set(flag, argv[++i]!);
        rest = '';
      } else {
        throw new FlagError(`flag needs an argument: '${c}' in -${c}`);
      }
    }
  }
  return { values, changed, args, help };
}

/** How many positional arguments a command takes, as docker's cobra `Args` validators say. */
export interface ArgRule {
  min?: number;
  max?: number;
}

/**
 * Docker's argument-count message, or undefined when the count fits. `see` tells whether docker
 * ends the message with "See '… --help'" (at-least rules) rather than "Run '… --help'".
 */
export function checkArgCount(rule: ArgRule, count: number, path: string): { message: string; see: boolean } | undefined {
  const { min = 0, max = Infinity } = rule;
  if (count >= min && count <= max) return undefined;
  const plural = (n: number) => `${n} argument${n === 1 ? '' : 's'}`;
  if (max === 0) return { message: `'${path}' accepts no arguments`, see: false };
  if (min === max) return { message: `'${path}' requires ${plural(min)}`, see: false };
  if (max === Infinity) return { message: `'${path}' requires at least ${plural(min)}`, see: true };
  if (min === 0) return { message: `'${path}' requires at most ${plural(max)}`, see: false };
  return { message: `'${path}' requires at least ${min} and at most ${plural(max)}`, see: false };
}
