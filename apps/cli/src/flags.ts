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
 * bool: `--rm`, `--rm=false`; string: last value wins; list: every value in order; int: integer;
 * bytes: a size with unit (`512m`, go-units RAMInBytes); decimal: a number (`--cpus 1.5`);
 * filter: a list of `key=value`; duration: a Go duration (`30s`, `1m30s`), kept as written for the
 * command to parse (help shows `duration`).
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
    case 'string':
    case 'duration':
      return text;
    case 'list':
      return [...(previous as string[]), text];
    case 'filter':
      if (!text.includes('=')) invalid('bad format of filter (expected name=value)');
      return [...(previous as string[]), text];
    case 'int':
      if (!/^[-+]?\d+$/.test(text)) invalid(`strconv.ParseInt: parsing "${text}": invalid syntax`);
      return Number(text);
    case 'bytes':
      try {
        return ramInBytes(text);
      } catch (err) {
        return invalid((err as Error).message);
      }
    case 'decimal': {
      const value = Number(text);
      if (text.trim() === '' || !Number.isFinite(value)) invalid(`failed to parse ${text} as a rational number`);
      return value;
    }
  }
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
