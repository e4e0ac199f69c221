/**
 * Environment replacement for instruction values (reference.md, "Environment replacement"), on
 * top of the shell lexer: which fields of which instruction Docker expands, and how.
 */
import { InvalidArgumentError } from '@berth/errors';
import { DockerfileError, excerpt } from './dockerfile-error.js';
import { exposedPorts } from './exposed-ports.js';
import { lex, LexError, type Env, type LexOptions } from './shell-lexer.js';
import type { Heredoc, Instruction, RunMount, SourceLocation } from './types.js';

export type { Env } from './shell-lexer.js';

export interface ExpandOptions {
  /** The Dockerfile's escape character (`Dockerfile.directives.escape`); default `\`. */
  escape?: string;
  /** Where the text comes from: errors then read `<file>:<line>: …`. */
  location?: SourceLocation;
  /** The instruction, for error detail. */
  instruction?: string;
  /** Receives the names of the variables that were found in `env` (build-arg usage, cache keys). */
  used?: Set<string>;
}

function run(text: string, env: Env, options: ExpandOptions, lexOptions: LexOptions = {}) {
  try {
    const result = lex(text, env, { escape: options.escape, ...lexOptions });
    if (options.used) for (const name of result.used) options.used.add(name);
    return result;
  } catch (err) {
    if (!(err instanceof LexError)) throw err;
    const what = `failed to process "${excerpt(text)}": ${err.message}`;
    if (options.location) {
      const { file, line, endLine } = options.location;
      throw new DockerfileError(what, { file, line, endLine, instruction: options.instruction }, { cause: err });
    }
    throw new InvalidArgumentError(what, { cause: err });
  }
}

/**
 * Expands one word: quotes removed, escapes applied, `$VAR` / `${VAR…}` substituted (unknown → '').
 * Whitespace is kept: `expandWords('"a  b" $X', {X: 'c'})` → `a  b c`.
 * Throws `DockerfileError` (with `location`) or `InvalidArgumentError` on a syntax error or `${X:?msg}`.
 */
export function expandWords(text: string, env: Env, options: ExpandOptions = {}): string {
  return run(text, env, options).word;
}

/**
 * Expands and splits into words, honouring quotes: `expandWordList('80 "a b" $P', {P: '1 2'})` →
 * `['80', 'a b', '1', '2']` (the result of an unquoted substitution is split, as EXPOSE needs).
 */
export function expandWordList(text: string, env: Env, options: ExpandOptions = {}): string[] {
  return run(text, env, options).words;
}

/**
 * Expands a heredoc body the way a POSIX shell expands an unquoted here-document: `$VAR`,
 * `${VAR…}`; `\$`, `` \` `` and `\\` are unescaped, backslash-newline joins lines, quotes and other
 * backslashes stay as written. A heredoc with `expand: false` is returned unchanged.
 */
export function expandHeredoc(doc: Heredoc, env: Env, options: ExpandOptions = {}): string {
  if (!doc.expand) return doc.content;
  let prepared = '';
  const text = doc.content;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch !== '\\') {
      prepared += ch;
      continue;
    }
    const next = text[i + 1];
    if (next === '$' || next === '`' || next === '\\') {
      prepared += '\\' + next;
      i++;
    } else if (next === '\n') {
      i++;
    } else {
      prepared += '\\\\';
    }
  }
  return run(prepared, env, { ...options, escape: '\\' }, { skipProcessQuotes: true }).word;
}

/**
 * Returns a copy of `instruction` with every field Docker expands substituted from `env`
 * (the stage's ENV plus the ARGs in scope; see `ArgScope.environment`), and the names used:
 * FROM image/platform; ENV/LABEL keys and values; ARG names and defaults; ADD/COPY sources, dest,
 * --chown, --chmod, --from, --exclude, --checksum and expandable heredoc bodies; EXPOSE ports (split
 * into words, then read as port specs: the `port/proto` keys, ranges expanded, see `exposedPorts`);
 * VOLUME paths; USER; WORKDIR; STOPSIGNAL; RUN --mount values. Other instructions are
 * returned as they are. Within one instruction every value sees the same `env` (`ENV a=1 b=$a` uses
 * the previous `a`), as Docker does.
 */
export function expandInstruction<T extends Instruction>(
  instruction: T,
  env: Env,
  options: { escape?: string } = {},
): { instruction: T; used: Set<string> } {
  const used = new Set<string>();
  const opts: ExpandOptions = { escape: options.escape, location: instruction.location, instruction: instruction.kind, used };
  const word = (text: string) => expandWords(text, env, opts);
  const optional = (text: string | undefined) => (text === undefined ? undefined : word(text));
  const inst = instruction as Instruction;
  let out: Instruction;
  switch (inst.kind) {
    case 'FROM':
      out = { ...inst, image: word(inst.image) };
      if (inst.platform !== undefined) out.platform = word(inst.platform);
      break;
    case 'ENV':
    case 'LABEL':
      out = { ...inst, pairs: inst.pairs.map(([k, v]) => [word(k), word(v)] as [string, string]) };
      break;
    case 'ARG':
      out = {
        ...inst,
        args: inst.args.map((a) => (a.default === undefined ? { name: word(a.name) } : { name: word(a.name), default: word(a.default) })),
      };
      break;
    case 'ADD':
    case 'COPY': {
      const copy = {
        ...inst,
        sources: inst.sources.map(word),
        dest: word(inst.dest),
        excludes: inst.excludes.map(word),
        heredocs: inst.heredocs.map((doc) => ({ ...doc, content: expandHeredoc(doc, env, opts) })),
      };
      if (copy.chown !== undefined) copy.chown = word(copy.chown);
      if (copy.chmod !== undefined) copy.chmod = word(copy.chmod);
      if (copy.kind === 'COPY' && copy.from !== undefined) copy.from = word(copy.from);
      if (copy.kind === 'ADD' && copy.checksum !== undefined) copy.checksum = word(copy.checksum);
      out = copy;
      break;
    }
    case 'EXPOSE': {
      const words = inst.ports.flatMap((p) => expandWordList(p, env, opts));
      try {
        out = { ...inst, ports: exposedPorts(words) };
      } catch (err) {
        const { file, line, endLine } = inst.location;
        throw new DockerfileError((err as Error).message, { file, line, endLine, instruction: 'EXPOSE' }, { cause: err });
      }
      break;
    }
    case 'VOLUME':
      out = { ...inst, paths: inst.paths.map(word) };
      break;
    case 'USER':
      out = { ...inst, user: word(inst.user) };
      break;
    case 'WORKDIR':
      out = { ...inst, path: word(inst.path) };
      break;
    case 'STOPSIGNAL':
      out = { ...inst, signal: word(inst.signal) };
      break;
    case 'RUN':
      out = { ...inst, mounts: inst.mounts.map((m) => expandMount(m, word, optional)) };
      break;
    default:
      out = inst;
  }
  return { instruction: out as T, used };
}

function expandMount(m: RunMount, word: (s: string) => string, optional: (s: string | undefined) => string | undefined): RunMount {
  const out: RunMount = { ...m, options: Object.fromEntries(Object.entries(m.options).map(([k, v]) => [k, word(v)])) };
  for (const key of ['target', 'source', 'from', 'id', 'mode', 'uid', 'gid', 'size', 'env'] as const) {
    if (m[key] !== undefined) out[key] = optional(m[key]);
  }
  return out;
}
