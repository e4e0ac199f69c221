/**
 * The second pass: each logical line (`RawNode`) → a typed `Instruction`, with Docker's argument
 * rules and error messages, then instructions → stages.
 */
import { parseGoDuration } from '@berth/filters';
import { DockerfileError, excerpt, type ErrorLocation } from './dockerfile-error.js';
import { InstructionError } from './instruction-error.js';
import { Flags, suggestFrom, type Flag } from './instruction-flags.js';
import { parseHeredocWord, parseJsonArray, parseWords, readDockerfile, splitCommand, type RawNode } from './line-parser.js';
import { parseMount } from './run-mount.js';
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
  SourceLocation,
  Stage,
} from './types.js';

export const instructionNames: readonly InstructionKind[] = [
  'FROM', 'RUN', 'CMD', 'ENTRYPOINT', 'LABEL', 'MAINTAINER', 'EXPOSE', 'ENV', 'ADD', 'COPY',
  'VOLUME', 'USER', 'WORKDIR', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'ARG', 'SHELL',
];

export interface ParseOptions {
  /** The name errors and locations use; default `Dockerfile`. */
  file?: string;
}

/**
 * Parses a Dockerfile into stages. Throws `DockerfileError`
 * (`dockerfile parse error on line <n>: <what>`, or `<file>: <what>` about the whole file) for
 * anything Docker rejects at parse time: unknown instructions, bad arguments or flags, SHELL not in
 * JSON form, forbidden ONBUILD triggers, a missing FROM, invalid or duplicate stage names,
 * unterminated heredocs, a physical line longer than 65535 bytes. Time and memory are linear in the
 * size of the text.
 */
export function parseDockerfile(text: string, options: ParseOptions = {}): Dockerfile {
  const file = options.file ?? 'Dockerfile';
  const read = readDockerfile(text, file);
  const escape = read.directives.escape;
  const ctx: Ctx = { file, escape, parse: true };
  const metaArgs: ArgInstruction[] = [];
  const stages: Stage[] = [];
  const names = new Set<string>();
  for (const node of read.nodes) {
    const instruction = toInstruction(node, ctx);
    if (instruction.kind === 'FROM') {
      if (instruction.as !== undefined) {
        if (names.has(instruction.as)) {
          throw new DockerfileError(`duplicate stage name "${instruction.as}"`, where(node, ctx), { parse: true });
        }
        names.add(instruction.as);
      }
      stages.push({ index: stages.length, name: instruction.as, from: instruction, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.kind !== 'ARG') {
        throw new DockerfileError(`no build stage in current context: ${instruction.kind} must come after a FROM`, where(node, ctx), { parse: true });
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
 * e.g. `ONBUILD of alpine:3.20:1: FROM isn't allowed as an ONBUILD trigger`.
 */
export function parseOnbuildTriggers(triggers: readonly string[], options: ParseOptions = {}): Instruction[] {
  const file = options.file ?? 'ONBUILD';
  const ctx: Ctx = { file, escape: '\\', parse: false };
  return triggers.map((trigger, index) => {
    let read;
    try {
      read = readDockerfile(trigger, file);
    } catch (err) {
      // The line reader words its errors as parse errors; a trigger is not the user's Dockerfile.
      if (err instanceof DockerfileError) throw new DockerfileError(err.reason, err, { cause: err });
      throw err;
    }
    const node = read.nodes[0];
    if (node === undefined) throw new DockerfileError(`empty ONBUILD trigger #${index + 1}`, { file, line: 0 });
    const instruction = toInstruction(node, ctx);
    assertTriggerAllowed(instruction.kind, node, ctx);
    return instruction;
  });
}

function where(node: RawNode, ctx: Ctx, keyword = node.keyword.toUpperCase()): ErrorLocation {
  return { file: ctx.file, line: node.startLine, endLine: node.endLine, instruction: keyword };
}

function assertTriggerAllowed(kind: string, node: RawNode, ctx: Ctx): void {
  if (kind === 'ONBUILD') {
    throw new DockerfileError('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed', where(node, ctx, 'ONBUILD'), { parse: ctx.parse });
  }
  if (kind === 'FROM' || kind === 'MAINTAINER') {
    throw new DockerfileError(`${kind} isn't allowed as an ONBUILD trigger`, where(node, ctx, 'ONBUILD'), { parse: ctx.parse });
  }
}

interface Ctx {
  file: string;
  escape: string;
  /** Errors read `dockerfile parse error on line N: …` (the user's Dockerfile), else `<file>:<line>: …`. */
  parse: boolean;
}

function toInstruction(node: RawNode, ctx: Ctx): Instruction {
  const kind = node.keyword.toUpperCase() as InstructionKind;
  if (!instructionNames.includes(kind)) {
    const hint = suggestFrom(node.keyword.toUpperCase(), instructionNames);
    throw new DockerfileError(`unknown instruction: ${excerpt(node.keyword)}${hint ? ` (did you mean ${hint}?)` : ''}`, where(node, ctx), { parse: ctx.parse });
  }
  try {
    return build(kind, node, ctx);
  } catch (err) {
    if (err instanceof InstructionError) throw new DockerfileError(err.message, where(node, ctx), { parse: ctx.parse, cause: err });
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
          throw new InstructionError(`invalid name for build stage: "${excerpt(args[2]!)}", name can't start with a number or contain symbols`);
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
          throw new InstructionError(`unsupported network mode "${excerpt(network.value)}": expected default, none or host`);
        }
        run.network = network.value;
      }
      if (security.value !== undefined) {
        if (!['sandbox', 'insecure'].includes(security.value)) {
          throw new InstructionError(`unsupported security mode "${excerpt(security.value)}": expected sandbox or insecure`);
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
    if (err instanceof DockerfileError) throw new InstructionError(err.reason);
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
  if (type !== 'CMD') throw new InstructionError(`Unknown type "${excerpt(type)}" in HEALTHCHECK (try CMD)`);
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
    if (ns === undefined) throw new InstructionError(`time: invalid duration "${excerpt(flag.value)}" for --${flag.name}`);
    if (ns < 1_000_000) throw new InstructionError(`Interval "${flag.name}" cannot be less than 1ms`);
    hc[field] = ns;
  }
  if (retries.value !== undefined && retries.value !== '') {
    if (!/^[+-]?\d+$/.test(retries.value)) {
      throw new InstructionError(`strconv.ParseInt: parsing "${excerpt(retries.value)}": invalid syntax`);
    }
    const n = Number(retries.value);
    if (n < 1) throw new InstructionError(`--retries must be at least 1 (not ${n})`);
    hc.retries = n;
  }
  return hc;
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
    if (eq < 0) throw new InstructionError(`Syntax error - can't find = in "${excerpt(word)}". Must be of the form: name=value`);
    if (eq === 0) throw new InstructionError(`${kind} names can not be blank`);
    return [word.slice(0, eq), word.slice(eq + 1)];
  });
}
