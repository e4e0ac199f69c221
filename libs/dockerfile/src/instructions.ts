/**
 * The second pass: each logical line (`RawNode`) → a typed `Instruction`, with Docker's argument
 * rules and error messages, then instructions → stages.
 */
import { DockerfileError } from './dockerfile-error.js';
import { parseHeredocWord, parseJsonArray, parseWords, readDockerfile, splitCommand, type RawNode } from './line-parser.js';
import type {
  AddInstruction,
  ArgInstruction,
  CopyInstruction,
  Dockerfile,
  FromInstruction,
  HealthcheckInstruction,
  Heredoc,
  Instruction,
  InstructionKind,
  RunMount,
  SourceLocation,
  Stage,
} from './types.js';

export const instructionNames: readonly InstructionKind[] = [
  'FROM', 'RUN', 'CMD', 'ENTRYPOINT', 'LABEL', 'MAINTAINER', 'EXPOSE', 'ENV', 'ADD', 'COPY',
  'VOLUME', 'USER', 'WORKDIR', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'ARG', 'SHELL',
];

/** A problem in one instruction; the caller knows where. */
class InstructionError extends Error {}

export interface ParseOptions {
  /** The name errors and locations use; default `Dockerfile`. */
  file?: string;
}

/**
 * Parses a Dockerfile into stages. Throws `DockerfileError` (`<file>:<line>: <what>`) for anything
 * Docker rejects at parse time: unknown instructions, bad arguments or flags, SHELL not in JSON form,
 * forbidden ONBUILD triggers, a missing FROM, invalid or duplicate stage names, unterminated heredocs.
 */
export function parseDockerfile(text: string, options: ParseOptions = {}): Dockerfile {
  const file = options.file ?? 'Dockerfile';
  const read = readDockerfile(text, file);
  const escape = read.directives.escape;
  const metaArgs: ArgInstruction[] = [];
  const stages: Stage[] = [];
  const names = new Set<string>();
  for (const node of read.nodes) {
    const instruction = toInstruction(node, { file, escape });
    if (instruction.kind === 'FROM') {
      if (instruction.as !== undefined) {
        if (names.has(instruction.as)) {
          throw new DockerfileError(`duplicate stage name "${instruction.as}"`, where(node, file));
        }
        names.add(instruction.as);
      }
      stages.push({ index: stages.length, name: instruction.as, from: instruction, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.kind !== 'ARG') {
        throw new DockerfileError(`no build stage in current context: ${instruction.kind} must come after a FROM`, where(node, file));
      }
      metaArgs.push(instruction);
    } else {
      stages[stages.length - 1]!.instructions.push(instruction);
    }
  }
  if (read.nodes.length === 0) throw new DockerfileError('file with no instructions', { file, line: 0 });
  if (stages.length === 0) throw new DockerfileError('dockerfile contains no stages to build: add a FROM instruction', { file, line: 0 });
  return { directives: read.directives, metaArgs, stages, warnings: read.warnings };
}

/**
 * Parses ONBUILD triggers as stored in a base image's config (`Config.OnBuild`), for running them at
 * the child's FROM. Each trigger may contain heredoc bodies. `file` names the source in errors,
 * e.g. `ONBUILD of alpine:3.20`.
 */
export function parseOnbuildTriggers(triggers: readonly string[], options: ParseOptions = {}): Instruction[] {
  const file = options.file ?? 'ONBUILD';
  return triggers.map((trigger, index) => {
    const read = readDockerfile(trigger, file);
    const node = read.nodes[0];
    if (node === undefined) throw new DockerfileError(`empty ONBUILD trigger #${index + 1}`, { file, line: 0 });
    const instruction = toInstruction(node, { file, escape: '\\' });
    assertTriggerAllowed(instruction.kind, node, file);
    return instruction;
  });
}

function where(node: RawNode, file: string, keyword = node.keyword.toUpperCase()): { file: string; line: number; instruction: string } {
  return { file, line: node.startLine, instruction: keyword };
}

function assertTriggerAllowed(kind: string, node: RawNode, file: string): void {
  if (kind === 'ONBUILD') {
    throw new DockerfileError('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed', where(node, file, 'ONBUILD'));
  }
  if (kind === 'FROM' || kind === 'MAINTAINER') {
    throw new DockerfileError(`${kind} isn't allowed as an ONBUILD trigger`, where(node, file, 'ONBUILD'));
  }
}

interface Ctx {
  file: string;
  escape: string;
}

function toInstruction(node: RawNode, ctx: Ctx): Instruction {
  const kind = node.keyword.toUpperCase() as InstructionKind;
  if (!instructionNames.includes(kind)) {
    const hint = suggest(node.keyword.toUpperCase());
    throw new DockerfileError(`unknown instruction: ${node.keyword}${hint ? ` (did you mean ${hint}?)` : ''}`, where(node, ctx.file));
  }
  try {
    return build(kind, node, ctx);
  } catch (err) {
    if (err instanceof InstructionError) throw new DockerfileError(err.message, where(node, ctx.file));
    throw err;
  }
}

function originalOf(node: RawNode): string {
  let text = node.line.trim();
  for (const doc of node.heredocs) text += '\n' + doc.content + doc.name;
  return text;
}

function build(kind: InstructionKind, node: RawNode, ctx: Ctx): Instruction {
  const location: SourceLocation = { file: ctx.file, line: node.startLine, endLine: node.endLine };
  const base = { location, original: originalOf(node) };
  const flags = new Flags(node.flags);
  const rest = node.rest;

  switch (kind) {
    case 'FROM': {
      const platform = flags.string('platform');
      flags.parse();
      const args = whitespaceList(rest);
      let as: string | undefined;
      if (args.length === 3 && args[1]!.toLowerCase() === 'as') {
        as = args[2]!.toLowerCase();
        if (!/^[a-z][a-z0-9-_.]*$/.test(as)) {
          throw new InstructionError(`invalid name for build stage: "${args[2]}", name can't start with a number or contain symbols`);
        }
      } else if (args.length !== 1) {
        throw new InstructionError('FROM requires either one or three arguments');
      }
      const from: FromInstruction = { kind, ...base, image: args[0]! };
      if (platform.value !== undefined) from.platform = platform.value;
      if (as !== undefined) from.as = as;
      return from;
    }
    case 'RUN': {
      const mounts = flags.strings('mount');
      const network = flags.string('network');
      const security = flags.string('security');
      flags.parse();
      const command = maybeJson(rest, kind);
      const run: Instruction = {
        kind,
        ...base,
        command,
        heredocs: node.heredocs,
        mounts: mounts.values.map(parseMount),
      };
      if (network.value !== undefined) {
        if (!['default', 'none', 'host'].includes(network.value)) {
          throw new InstructionError(`unsupported network mode "${network.value}": expected default, none or host`);
        }
        run.network = network.value;
      }
      if (security.value !== undefined) {
        if (!['sandbox', 'insecure'].includes(security.value)) {
          throw new InstructionError(`unsupported security mode "${security.value}": expected sandbox or insecure`);
        }
        run.security = security.value;
      }
      return run;
    }
    case 'CMD':
    case 'ENTRYPOINT': {
      flags.parse();
      return { kind, ...base, command: maybeJson(rest, kind) };
    }
    case 'SHELL': {
      flags.parse();
      const json = jsonStrings(rest);
      if (json === undefined) throw new InstructionError('SHELL requires the arguments to be in JSON form');
      if (json.length === 0) throw new InstructionError('SHELL requires at least one argument');
      return { kind, ...base, shell: json };
    }
    case 'ENV':
    case 'LABEL': {
      flags.parse();
      return { kind, ...base, pairs: nameValuePairs(rest, kind, ctx.escape) };
    }
    case 'MAINTAINER':
    case 'USER':
    case 'WORKDIR':
    case 'STOPSIGNAL': {
      if (rest === '') throw new InstructionError(`${kind} requires exactly one argument`);
      flags.parse();
      if (kind === 'MAINTAINER') return { kind, ...base, name: rest };
      if (kind === 'USER') return { kind, ...base, user: rest };
      if (kind === 'WORKDIR') return { kind, ...base, path: rest };
      return { kind, ...base, signal: rest };
    }
    case 'EXPOSE': {
      const ports = whitespaceList(rest);
      if (ports.length === 0) throw new InstructionError('EXPOSE requires at least one argument');
      flags.parse();
      return { kind, ...base, ports };
    }
    case 'VOLUME': {
      const paths = jsonOrList(rest);
      if (paths.length === 0) throw new InstructionError('VOLUME requires at least one argument');
      flags.parse();
      for (const p of paths) {
        if (p.trim() === '') throw new InstructionError('VOLUME specified can not be an empty string');
      }
      return { kind, ...base, paths: paths.map((p) => p.trim()) };
    }
    case 'ADD':
    case 'COPY':
      return copyLike(kind, node, flags, base);
    case 'ARG': {
      flags.parse();
      const words = parseWords(rest, ctx.escape);
      if (words.length === 0) throw new InstructionError('ARG requires at least one argument');
      const args = words.map((word) => {
        const eq = word.indexOf('=');
        if (eq < 0) return { name: word };
        if (eq === 0) throw new InstructionError('ARG names can not be blank');
        return { name: word.slice(0, eq), default: word.slice(eq + 1) };
      });
      return { kind, ...base, args };
    }
    case 'HEALTHCHECK':
      return healthcheck(node, flags, base);
    case 'ONBUILD': {
      flags.parse();
      if (rest === '') throw new InstructionError('ONBUILD requires at least one argument');
      const inner = splitCommand(rest, ctx.escape);
      const innerKind = inner.keyword.toUpperCase();
      if (innerKind === 'ONBUILD') throw new InstructionError('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      if (innerKind === 'FROM' || innerKind === 'MAINTAINER') throw new InstructionError(`${innerKind} isn't allowed as an ONBUILD trigger`);
      const innerNode: RawNode = { ...node, ...inner, line: rest };
      let text = node.line.replace(/^\s*ONBUILD\s*/i, '');
      for (const doc of node.heredocs) text += '\n' + doc.content + doc.name;
      return { kind, ...base, trigger: toInstructionInner(innerNode, ctx), text };
    }
  }
}

/** Parses an ONBUILD trigger; errors keep the ONBUILD line and say ONBUILD. */
function toInstructionInner(node: RawNode, ctx: Ctx): Instruction {
  try {
    return toInstruction(node, ctx);
  } catch (err) {
    if (err instanceof DockerfileError) throw new InstructionError(err.message.slice(`${ctx.file}:${node.startLine}: `.length));
    throw err;
  }
}

function copyLike(kind: 'ADD' | 'COPY', node: RawNode, flags: Flags, base: { location: SourceLocation; original: string }): AddInstruction | CopyInstruction {
  const args = jsonOrList(node.rest);
  if (args.length < 2) {
    throw new InstructionError(`${kind} requires at least two arguments, but only one was provided. Destination could not be determined.`);
  }
  const chown = flags.string('chown');
  const chmod = flags.string('chmod');
  const link = flags.bool('link');
  const excludes = flags.strings('exclude');
  const parents = flags.bool('parents');
  const from = kind === 'COPY' ? flags.string('from') : undefined;
  const checksum = kind === 'ADD' ? flags.string('checksum') : undefined;
  const keepGitDir = kind === 'ADD' ? flags.bool('keep-git-dir') : undefined;
  const unpack = kind === 'ADD' ? flags.bool('unpack') : undefined;
  flags.parse();

  const dest = args[args.length - 1]!;
  if (parseHeredocWord(dest)) throw new InstructionError(`${kind} cannot accept a heredoc as a destination`);
  const byName = new Map(node.heredocs.map((doc) => [doc.name, doc]));
  const sources: string[] = [];
  const heredocs: Heredoc[] = [];
  for (const src of args.slice(0, -1)) {
    const doc = parseHeredocWord(src);
    const body = doc ? byName.get(doc.name) : undefined;
    if (body) heredocs.push(body);
    else sources.push(src);
  }
  const common = {
    ...base,
    sources,
    dest,
    link: link.value === true,
    excludes: excludes.values,
    parents: parents.value === true,
    heredocs,
  };
  const withOptional = <T extends object>(obj: T): T => {
    if (chown.value !== undefined) Object.assign(obj, { chown: chown.value });
    if (chmod.value !== undefined) Object.assign(obj, { chmod: chmod.value });
    return obj;
  };
  if (kind === 'COPY') {
    const copy: CopyInstruction = withOptional({ kind, ...common });
    if (from!.value !== undefined) copy.from = from!.value;
    return copy;
  }
  const add: AddInstruction = withOptional({ kind, ...common, keepGitDir: keepGitDir!.value === true });
  if (checksum!.value !== undefined) add.checksum = checksum!.value;
  if (unpack!.value !== undefined) add.unpack = unpack!.value;
  return add;
}

function healthcheck(node: RawNode, flags: Flags, base: { location: SourceLocation; original: string }): HealthcheckInstruction {
  const rest = node.rest;
  const sep = rest.search(/\s/);
  const type = (sep < 0 ? rest : rest.slice(0, sep)).toUpperCase();
  const cmdText = sep < 0 ? '' : rest.slice(sep).replace(/^\s+/, '');
  if (type === '') throw new InstructionError('HEALTHCHECK requires at least one argument');
  const interval = flags.string('interval');
  const timeout = flags.string('timeout');
  const startPeriod = flags.string('start-period');
  const startInterval = flags.string('start-interval');
  const retries = flags.string('retries');
  flags.parse();
  if (type === 'NONE') {
    if (cmdText !== '') throw new InstructionError('HEALTHCHECK NONE takes no arguments');
    return { kind: 'HEALTHCHECK', ...base, none: true, test: ['NONE'] };
  }
  if (type !== 'CMD') throw new InstructionError(`Unknown type "${type}" in HEALTHCHECK (try CMD)`);
  const json = jsonStrings(cmdText);
  let test: string[];
  if (json !== undefined) {
    if (json.length === 0) throw new InstructionError('Missing command after HEALTHCHECK CMD');
    test = ['CMD', ...json];
  } else {
    if (cmdText === '') throw new InstructionError('Missing command after HEALTHCHECK CMD');
    test = ['CMD-SHELL', cmdText];
  }
  const hc: HealthcheckInstruction = { kind: 'HEALTHCHECK', ...base, none: false, test };
  const durations: Array<[Flag<string>, 'interval' | 'timeout' | 'startPeriod' | 'startInterval']> = [
    [interval, 'interval'],
    [timeout, 'timeout'],
    [startPeriod, 'startPeriod'],
    [startInterval, 'startInterval'],
  ];
  for (const [flag, field] of durations) {
    if (flag.value === undefined || flag.value === '') continue;
    const ns = parseGoDuration(flag.value);
    if (ns === undefined) throw new InstructionError(`time: invalid duration "${flag.value}" for --${flag.name}`);
    if (ns < 1_000_000) throw new InstructionError(`Interval "${flag.name}" cannot be less than 1ms`);
    hc[field] = ns;
  }
  if (retries.value !== undefined && retries.value !== '') {
    if (!/^[+-]?\d+$/.test(retries.value)) {
      throw new InstructionError(`strconv.ParseInt: parsing "${retries.value}": invalid syntax`);
    }
    const n = Number(retries.value);
    if (n < 1) throw new InstructionError(`--retries must be at least 1 (not ${n})`);
    hc.retries = n;
  }
  return hc;
}

const durationUnits: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's `time.ParseDuration`, in nanoseconds (undefined when invalid). */
export function parseGoDuration(text: string): number | undefined {
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  const re = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  while (s.length > 0) {
    const m = re.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * durationUnits[m[2]!]!;
    s = s.slice(m[0].length);
  }
  return sign * Math.round(total);
}

function whitespaceList(rest: string): string[] {
  if (rest === '') return [];
  return rest.split(/[\t\v\f\r ]+/);
}

/** JSON array of strings, or undefined when `rest` is not a JSON array; non-string items are an error. */
function jsonStrings(rest: string): string[] | undefined {
  const json = parseJsonArray(rest);
  if (json === undefined) return undefined;
  if (!json.every((item): item is string => typeof item === 'string')) {
    throw new InstructionError('when using JSON array syntax, arrays must be comprised of strings only');
  }
  return json;
}

/** Exec form when `rest` is a valid JSON string array; otherwise Docker falls back to shell form. */
function maybeJson(rest: string, kind: string): string[] | string {
  const json = jsonStrings(rest);
  if (json !== undefined) return json;
  if (rest === '') throw new InstructionError(`${kind} requires at least one argument`);
  return rest;
}

function jsonOrList(rest: string): string[] {
  return jsonStrings(rest) ?? whitespaceList(rest);
}

/** ENV and LABEL: `k=v k2="v 2"` or the legacy `k v with spaces` (one pair). Values stay quoted. */
function nameValuePairs(rest: string, kind: 'ENV' | 'LABEL', escape: string): Array<[string, string]> {
  const words = parseWords(rest, escape);
  if (words.length === 0) throw new InstructionError(`${kind} requires at least one argument`);
  if (!words[0]!.includes('=')) {
    const m = /^(\S+)[\t\v\f\r ]+([\s\S]+)$/.exec(rest);
    if (!m) throw new InstructionError(`${kind} must have two arguments`);
    return [[m[1]!, m[2]!]];
  }
  return words.map((word) => {
    const eq = word.indexOf('=');
    if (eq < 0) throw new InstructionError(`Syntax error - can't find = in "${word}". Must be of the form: name=value`);
    if (eq === 0) throw new InstructionError(`${kind} names can not be blank`);
    return [word.slice(0, eq), word.slice(eq + 1)];
  });
}

/** `--mount=type=cache,target=/root/.cache,sharing=locked` (CSV, like BuildKit). */
function parseMount(spec: string): RunMount {
  const mount: RunMount = { type: 'bind', readonly: false, options: {} };
  let readonlySet = false;
  for (const field of splitCsv(spec)) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? undefined : field.slice(eq + 1);
    if (value === undefined) {
      if (key === 'readonly' || key === 'ro') {
        mount.readonly = true;
        readonlySet = true;
      } else if (key === 'readwrite' || key === 'rw') {
        mount.readonly = false;
        readonlySet = true;
      } else if (key === 'required') {
        mount.required = true;
      } else {
        throw new InstructionError(`unexpected key '${key}' in '${field}'`);
      }
      mount.options[key] = 'true';
      continue;
    }
    mount.options[key] = value;
    switch (key) {
      case 'type':
        if (!['bind', 'cache', 'tmpfs', 'secret', 'ssh'].includes(value)) {
          throw new InstructionError(`unsupported mount type "${value}"`);
        }
        mount.type = value as RunMount['type'];
        break;
      case 'from':
        mount.from = value;
        break;
      case 'source':
      case 'src':
        mount.source = value;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        mount.target = value;
        break;
      case 'readonly':
      case 'ro':
      case 'readwrite':
      case 'rw': {
        const b = parseBool(value);
        if (b === undefined) throw new InstructionError(`invalid value for ${key}: ${value}`);
        mount.readonly = key === 'readonly' || key === 'ro' ? b : !b;
        readonlySet = true;
        break;
      }
      case 'required': {
        const b = parseBool(value);
        if (b === undefined) throw new InstructionError(`invalid value for ${key}: ${value}`);
        mount.required = b;
        break;
      }
      case 'id':
        mount.id = value;
        break;
      case 'sharing':
        if (!['shared', 'private', 'locked'].includes(value)) {
          throw new InstructionError(`unsupported sharing value "${value}"`);
        }
        mount.sharing = value as RunMount['sharing'];
        break;
      case 'mode':
        mount.mode = value;
        break;
      case 'uid':
        mount.uid = value;
        break;
      case 'gid':
        mount.gid = value;
        break;
      case 'size':
        mount.size = value;
        break;
      case 'env':
        mount.env = value;
        break;
      default:
        throw new InstructionError(`unexpected key '${key}' in '${field}'`);
    }
  }
  // Bind mounts are read-only unless `rw` is given (BuildKit's default).
  if (mount.type === 'bind' && !readonlySet) mount.readonly = true;
  if (mount.type === 'cache' && mount.sharing === undefined) mount.sharing = 'shared';
  if (mount.type === 'secret' && mount.target === undefined && mount.env === undefined) {
    if (mount.id === undefined && mount.source === undefined) {
      throw new InstructionError('secret mount requires an id or a target');
    }
    mount.target = `/run/secrets/${mount.id ?? mount.source}`;
  }
  if ((mount.type === 'bind' || mount.type === 'cache' || mount.type === 'tmpfs') && mount.target === undefined) {
    throw new InstructionError(`mount destination not set: --mount=${spec} needs target=<path>`);
  }
  if (mount.type === 'cache' && mount.id === undefined) mount.id = mount.target;
  return mount;
}

function parseBool(value: string): boolean | undefined {
  const v = value.toLowerCase();
  if (['1', 't', 'true'].includes(v)) return true;
  if (['0', 'f', 'false'].includes(v)) return false;
  return undefined;
}

function splitCsv(text: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else field += ch;
  }
  if (quoted) throw new InstructionError(`invalid mount specification "${text}": unterminated quote`);
  fields.push(field);
  return fields.filter((f) => f !== '');
}

interface Flag<T> {
  name: string;
  value: T | undefined;
}

/** BuildKit's BFlags: each instruction declares its flags, then `parse()` validates what was given. */
class Flags {
  private readonly declared = new Map<string, { type: 'string' | 'bool' | 'strings'; flag: Flag<unknown> & { values?: string[] } }>();

  constructor(private readonly args: readonly string[]) {}

  string(name: string): Flag<string> {
    const flag: Flag<string> = { name, value: undefined };
    this.declared.set(name, { type: 'string', flag });
    return flag;
  }
  bool(name: string): Flag<boolean> {
    const flag: Flag<boolean> = { name, value: undefined };
    this.declared.set(name, { type: 'bool', flag });
    return flag;
  }
  strings(name: string): { name: string; values: string[] } {
    const flag = { name, value: undefined, values: [] as string[] };
    this.declared.set(name, { type: 'strings', flag });
    return flag;
  }

  parse(): void {
    const used = new Set<string>();
    for (const arg of this.args) {
      if (arg === '--') return;
      let name = arg.slice(2);
      let value: string | undefined;
      const eq = name.indexOf('=');
      if (eq >= 0) {
        value = name.slice(eq + 1);
        name = name.slice(0, eq);
      }
      const entry = this.declared.get(name);
      if (!entry) {
        const hint = suggestFrom(name, [...this.declared.keys()]);
        throw new InstructionError(`unknown flag: ${name}${hint ? ` (did you mean ${hint}?)` : ''}`);
      }
      if (used.has(name) && entry.type !== 'strings') throw new InstructionError(`duplicate flag specified: ${name}`);
      used.add(name);
      if (entry.type === 'bool') {
        if (value === undefined) entry.flag.value = true;
        else if (value === '') throw new InstructionError(`missing a value on flag: ${name}`);
        else if (value.toLowerCase() === 'true' || value.toLowerCase() === 'false') entry.flag.value = value.toLowerCase() === 'true';
        else throw new InstructionError(`expecting boolean value for flag ${name}, not: ${value}`);
      } else {
        if (value === undefined) throw new InstructionError(`missing a value on flag: ${name}`);
        if (entry.type === 'string') entry.flag.value = value;
        else entry.flag.values!.push(value);
      }
    }
  }
}

function suggest(word: string): string | undefined {
  return suggestFrom(word, instructionNames);
}

/** The closest candidate within a small edit distance (transpositions count once). */
function suggestFrom(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const limit = Math.max(1, Math.floor(word.length / 3));
  return best !== undefined && bestDistance > 0 && bestDistance <= limit ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
