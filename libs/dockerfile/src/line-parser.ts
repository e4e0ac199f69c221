/**
 * The first pass over a Dockerfile: text → logical lines ("nodes"), the way BuildKit's
 * `parser.Parse` reads it. It handles the byte-order mark, parser directives, comments, line
 * continuations (also across comment lines and empty lines inside a continuation) and heredoc
 * bodies. It knows nothing about what instructions mean; `instructions.ts` does that.
 */
import { DockerfileError, excerpt } from './dockerfile-error.js';
import { lex } from './shell-lexer.js';
import type { Heredoc } from './types.js';

export interface Directives {
  syntax?: string;
  escape: string;
  check?: string;
}

/** One instruction as read: the keyword, its `--flags` and the rest of the logical line. */
export interface RawNode {
  /** The keyword as written (`run`, `Copy`, …). */
  keyword: string;
  /** Leading `--name[=value]` words, quotes and escapes already processed. */
  flags: string[];
  /** Everything after the flags, trimmed. */
  rest: string;
  /** The logical line (continuations joined), untrimmed as BuildKit keeps it. */
  line: string;
  startLine: number;
  endLine: number;
  heredocs: Heredoc[];
}

export interface ReadResult {
  directives: Directives;
  nodes: RawNode[];
  warnings: string[];
  /** Number of physical lines read. */
  lineCount: number;
}

// Linear on any input: no pattern here can backtrack over a long line (`(.+?)\s*$` did: a
// 200 KB first line took minutes).
const directiveRegex = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.*)$/;
const knownDirectives = new Set(['syntax', 'escape', 'check']);
/** Instructions whose shell-form arguments may introduce heredocs. */
const heredocInstructions = new Set(['run', 'copy', 'add']);

/**
 * BuildKit reads a Dockerfile with Go's bufio.Scanner, whose tokens are at most 64 KiB: a longer
 * physical line is refused with this message (continuation lines may still make longer
 * instructions). It also bounds the work any one line can cause.
 */
export const maxLineBytes = 65535;

function trimNewline(s: string): string {
  let end = s.length;
  while (end > 0 && (s[end - 1] === '\n' || s[end - 1] === '\r')) end--;
  return end === s.length ? s : s.slice(0, end);
}

function trimLeadingWhitespace(s: string): string {
  return s.replace(/^\s+/u, '');
}

function isComment(s: string): boolean {
  return trimLeadingWhitespace(s).startsWith('#');
}

/** Splits text into lines that keep their line endings (like BuildKit's scanLines). */
function splitLines(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  for (;;) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) break;
    lines.push(text.slice(start, nl + 1));
    start = nl + 1;
  }
  if (start < text.length) lines.push(text.slice(start));
  return lines;
}

/**
 * A directive's value: trailing blanks removed; a value of blanks only is one blank (what BuildKit's
 * `=\s*(.+?)\s*$` captures, so that `# escape= ` is refused like there).
 */
function directiveValue(raw: string): string {
  const value = raw.trimEnd();
  return value === '' && raw !== '' ? raw[raw.length - 1]! : value;
}

/** UTF-8 length of `line` without its line ending, computed only when it could exceed the limit. */
function tooLong(line: string): boolean {
  const content = line.length - (line.endsWith('\n') ? 1 : 0);
  if (content <= maxLineBytes / 3) return false;
  return Buffer.byteLength(line) - (line.endsWith('\n') ? 1 : 0) > maxLineBytes;
}

export function readDockerfile(text: string, file: string): ReadResult {
  const directives: Directives = { escape: '\\' };
  const seen = new Set<string>();
  let directivesDone = false;
  const warnings: string[] = [];
  const nodes: RawNode[] = [];

  /** Returns true when `line` is a parser directive (and applies it). */
  const parseDirective = (line: string, lineNo: number): boolean => {
    if (directivesDone) return false;
    const match = directiveRegex.exec(line);
    const name = match?.[1]!.toLowerCase();
    const value = directiveValue(match?.[2] ?? '');
    if (!match || value === '' || !knownDirectives.has(name!)) {
      directivesDone = true;
      return false;
    }
    if (seen.has(name!)) {
      throw new DockerfileError(`only one ${name} parser directive can be used`, { file, line: lineNo }, { parse: true });
    }
    seen.add(name!);
    if (name === 'escape') {
      if (value !== '`' && value !== '\\') {
        throw new DockerfileError(`invalid escape token '${excerpt(value)}' does not match \` or \\`, { file, line: lineNo }, { parse: true });
      }
      directives.escape = value;
    } else if (name === 'syntax') {
      directives.syntax = value;
    } else {
      directives.check = value;
    }
    return true;
  };

  /**
   * Removes a trailing continuation character (the escape character, then only blanks, not itself
   * escaped); `end` is false when the line continues.
   */
  const trimContinuation = (line: string): { text: string; end: boolean } => {
    let e = line.length;
    while (e > 0 && (line[e - 1] === ' ' || line[e - 1] === '\t')) e--;
    const escape = directives.escape;
    if (e === 0 || line[e - 1] !== escape) return { text: line, end: true };
    if (e === 1) return { text: '', end: false };
    if (line[e - 2] === escape) return { text: line, end: true };
    return { text: line.slice(0, e - 1), end: false };
  };

  const lines = splitLines(text);
  let i = 0;
  let current = 0;
  const next = (): string => {
    const line = lines[i++]!;
    current++;
    if (tooLong(line)) {
      throw new DockerfileError(`dockerfile line greater than max allowed size of ${maxLineBytes}`, { file, line: current }, { parse: true });
    }
    return line;
  };
  while (i < lines.length) {
    let raw = next();
    if (current === 1) raw = raw.replace(/^\uFEFF/, '');
    let processed = trimLeadingWhitespace(trimNewline(raw));
    parseDirective(processed, current);
    if (isComment(processed)) processed = '';
    const startLine = current;
    let { text: buf, end } = trimContinuation(processed);
    if (end && buf.length === 0) continue;

    let emptyContinuation = false;
    while (!end && i < lines.length) {
      const physical = next();
      let piece = trimNewline(physical);
      parseDirective(piece, current);
      if (isComment(physical)) continue;
      if (trimLeadingWhitespace(piece).length === 0) {
        emptyContinuation = true;
        continue;
      }
      ({ text: piece, end } = trimContinuation(piece));
      buf += piece;
    }

    if (emptyContinuation) {
      warnings.push(`${file}:${startLine}: Empty continuation line found in: ${buf.trim()} (empty continuation lines will become errors in a future release)`);
    }

    const { keyword, flags, rest } = splitCommand(buf, directives.escape);
    const heredocs: Heredoc[] = [];
    if (canContainHeredoc(keyword, rest, directives.escape) && buf.includes('<<')) {
      for (const doc of heredocsFromLine(buf)) {
        const content: string[] = [];
        let terminated = false;
        while (i < lines.length) {
          const bodyLine = next();
          let candidate = trimNewline(bodyLine);
          if (doc.chomp) candidate = candidate.replace(/^\t+/, '');
          if (candidate === doc.name) {
            terminated = true;
            break;
          }
          content.push(bodyLine);
        }
        if (!terminated) {
          throw new DockerfileError('unterminated heredoc', { file, line: startLine, endLine: current, instruction: keyword.toUpperCase() }, { parse: true });
        }
        const body = content.join('');
        heredocs.push({ ...doc, content: doc.chomp ? body.replace(/^\t+/gm, '') : body });
      }
    }
    nodes.push({ keyword, flags, rest, line: buf, startLine, endLine: current, heredocs });
  }
  return { directives, nodes, warnings, lineCount: current };
}

/**
 * Whether the instruction may carry heredocs: RUN/COPY/ADD in shell form, also behind ONBUILD.
 * JSON (exec) form never does.
 */
function canContainHeredoc(keyword: string, rest: string, escape: string): boolean {
  let kw = keyword.toLowerCase();
  let args = rest;
  if (kw === 'onbuild') {
    const inner = splitCommand(rest, escape);
    kw = inner.keyword.toLowerCase();
    args = inner.rest;
  }
  if (!heredocInstructions.has(kw)) return false;
  return parseJsonArray(args) === undefined;
}

/** `rest` as a JSON array of strings, or undefined when it is not one (shell form). */
export function parseJsonArray(rest: string): unknown[] | undefined {
  const trimmed = trimLeadingWhitespace(rest);
  if (!trimmed.startsWith('[')) return undefined;
  try {
    const value: unknown = JSON.parse(trimmed);
    return Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

const heredocWord = /^(\d*)<<(-?)([^<]*)$/;

/** Parses one word as a heredoc introducer (`<<EOF`, `<<-"EOF"`, `3<<EOF`); undefined if it is not. */
export function parseHeredocWord(word: string): Omit<Heredoc, 'content'> | undefined {
  const match = heredocWord.exec(word);
  if (!match || match[3]!.length === 0) return undefined;
  const rest = match[3]!;
  let words: string[];
  let rawWords: string[];
  try {
    words = lex(rest, {}, { skipUnsetEnv: true }).words;
    if (words.length !== 1) return undefined;
    rawWords = lex(rest, {}, { skipUnsetEnv: true, rawQuotes: true }).words;
  } catch {
    return undefined;
  }
  if (rawWords.length !== words.length) return undefined;
  const countQuotes = (s: string) => (s.match(/['"]/g) ?? []).length;
  const doc: Omit<Heredoc, 'content'> = {
    name: words[0]!,
    expand: countQuotes(words[0]!) === countQuotes(rawWords[0]!),
    chomp: match[2] === '-',
  };
  if (match[1] !== '') doc.fileDescriptor = Number(match[1]);
  return doc;
}

function heredocsFromLine(line: string): Array<Omit<Heredoc, 'content'>> {
  let words: string[];
  try {
    words = lex(line, {}, { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true }).words;
  } catch {
    return [];
  }
  const docs: Array<Omit<Heredoc, 'content'>> = [];
  for (const word of words) {
    const doc = parseHeredocWord(word);
    if (doc) docs.push(doc);
  }
  return docs;
}

/** Splits a logical line into its keyword, leading `--flags` and the remaining arguments. */
export function splitCommand(line: string, escape: string): { keyword: string; flags: string[]; rest: string } {
  const trimmed = line.trim();
  const match = /[\t\v\f\r ]+/.exec(trimmed);
  if (!match) return { keyword: trimmed, flags: [], rest: '' };
  const keyword = trimmed.slice(0, match.index);
  const { rest, flags } = extractFlags(trimmed.slice(match.index + match[0].length), escape);
  return { keyword, flags, rest: rest.trim() };
}

/**
 * Takes the leading `--flag` words off `line`. Quotes and escapes inside flags are processed
 * (`--chown="a b"` → `--chown=a b`); a bare `--` ends the flags.
 */
function extractFlags(line: string, escape: string): { rest: string; flags: string[] } {
  const flags: string[] = [];
  let pos = 0;
  for (;;) {
    while (pos < line.length && isSpaceChar(line[pos]!)) pos++;
    if (pos >= line.length) return { rest: '', flags };
    if (!(line[pos] === '-' && line[pos + 1] === '-')) return { rest: line.slice(pos), flags };
    let word = '';
    let quote = '';
    let blankOk = false;
    for (;;) {
      if (pos >= line.length) {
        if (word !== '--' && (blankOk || word.length > 0)) flags.push(word);
        return { rest: '', flags };
      }
      const ch = line[pos]!;
      if (quote === '') {
        if (isSpaceChar(ch)) {
          if (word === '--') return { rest: line.slice(pos), flags };
          if (blankOk || word.length > 0) flags.push(word);
          break;
        }
        if (ch === "'" || ch === '"') {
          quote = ch;
          blankOk = true;
          pos++;
          continue;
        }
        if (ch === escape) {
          if (pos + 1 === line.length) {
            pos++;
            continue;
          }
          pos++;
        }
        word += line[pos]!;
        pos++;
        continue;
      }
      if (ch === quote) {
        quote = '';
        pos++;
        continue;
      }
      if (ch === escape) {
        if (pos + 1 === line.length) {
          quote = '';
          pos++;
          continue;
        }
        pos++;
      }
      word += line[pos]!;
      pos++;
    }
  }
}

function isSpaceChar(ch: string): boolean {
  return /\s/u.test(ch);
}

/**
 * Splits arguments into words on whitespace, keeping quotes and escapes in the words (they are
 * removed later, when the value is expanded). Used by ENV, LABEL and ARG.
 */
export function parseWords(rest: string, escape: string): string[] {
  const words: string[] = [];
  let inWord = false;
  let quote = '';
  let word = '';
  let blankOk = false;
  const chars = [...rest];
  for (let pos = 0; pos <= chars.length; pos++) {
    if (pos === chars.length) {
      if (inWord && (blankOk || word.length > 0)) words.push(word);
      break;
    }
    let ch = chars[pos]!;
    if (!inWord) {
      if (isSpaceChar(ch)) continue;
      inWord = true;
    }
    if (quote === '') {
      if (isSpaceChar(ch)) {
        if (blankOk || word.length > 0) words.push(word);
        inWord = false;
        word = '';
        blankOk = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOk = true;
      } else if (ch === escape) {
        if (pos + 1 === chars.length) continue;
        word += ch;
        ch = chars[++pos]!;
      }
      word += ch;
      continue;
    }
    if (ch === quote) {
      quote = '';
    } else if (ch === escape && quote !== "'") {
      if (pos + 1 === chars.length) {
        quote = '';
        continue;
      }
      word += ch;
      ch = chars[++pos]!;
    }
    word += ch;
  }
  return words;
}
