/**
 * Docker's word processing ("environment replacement"): quotes, the escape character and
 * `$VAR` / `${VAR…}` substitution, as BuildKit's `shell.Lex` does it for FROM, ENV, COPY, … values.
 *
 * Rules (reference.md, "Environment replacement"):
 * - `'…'` is literal; `"…"` expands variables, and the escape character only escapes `"`, `$` and
 *   itself there (other escapes stay as written); outside quotes the escape character makes the next
 *   character literal, and a trailing one is dropped.
 * - `$NAME`, `${NAME}`; `${NAME:-word}` / `${NAME-word}` (default when empty-or-unset / unset),
 *   `${NAME:+word}` / `${NAME+word}` (alternative when non-empty / set), `${NAME:?msg}` / `${NAME?msg}`
 *   (error), `${NAME#pat}` `${NAME##pat}` `${NAME%pat}` `${NAME%%pat}` (prefix/suffix removal).
 *   `word` may itself contain substitutions and quotes.
 * - An unknown variable expands to the empty string; a `$` not followed by a name stays literal.
 * - In word-list mode, text produced by a substitution outside quotes is split on whitespace.
 */

import { PatternTooComplex, trimPattern } from './pattern-trim.js';

export type Env = ReadonlyMap<string, string> | Readonly<Record<string, string>>;

export interface LexOptions {
  /** The escape character: `\` (default) or `` ` ``. */
  escape?: string;
  /** Keep quote characters in the output (used to find heredoc words). */
  rawQuotes?: boolean;
  /** Keep escape characters in the output. */
  rawEscapes?: boolean;
  /** Leave `$VAR` references to unset variables as written instead of expanding them to ''. */
  skipUnsetEnv?: boolean;
  /** Treat quotes as ordinary characters (heredoc bodies). */
  skipProcessQuotes?: boolean;
}

export interface LexResult {
  /** The processed text as one word (whitespace kept). */
  word: string;
  /** The processed text split into words (quoted whitespace kept inside a word). */
  words: string[];
  /** Names of the variables that were looked up and found. */
  used: Set<string>;
}

/** A syntax error in a word; callers add the location. */
export class LexError extends Error {}

/**
 * Limits that keep one word's work bounded. Docker has none (Go's stacks grow to 1 GB); here a
 * 10,000-deep `${A:-${A:-…}}` overflowed the stack, and `ENV A=$A$A` repeated doubles a value
 * until memory runs out.
 */
export const maxSubstitutionDepth = 100;
export const maxExpandedLength = 1024 * 1024;

const EOF = '';

function checkLength(text: string): void {
  if (text.length > maxExpandedLength) throw new LexError(`expanded value is longer than ${maxExpandedLength} characters`);
}

class WordCollector {
  words: string[] = [];
  word = '';
  inWord = false;

  addChar(ch: string): void {
    if (isSpace(ch)) {
      if (this.inWord && this.word.length > 0) {
        this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      }
    } else {
      this.addRawChar(ch);
    }
  }
  addRawChar(ch: string): void {
    this.word += ch;
    this.inWord = true;
  }
  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }
  addRawString(s: string): void {
    this.word += s;
    this.inWord = true;
  }
  finish(): string[] {
    if (this.word.length > 0) {
      this.words.push(this.word);
      this.word = '';
      this.inWord = false;
    }
    return this.words;
  }
}

function isSpace(ch: string): boolean {
  return /\s/u.test(ch);
}

function isNameChar(ch: string): boolean {
  return /[\p{L}\p{Nd}_]/u.test(ch);
}

const specialParams = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);

class ShellWord {
  private pos = 0;
  private depth = 0;
  readonly used = new Set<string>();

  constructor(
    private readonly src: string,
    private readonly lookup: (name: string) => string | undefined,
    private readonly opts: Required<LexOptions>,
  ) {}

  private peek(): string {
    return this.pos < this.src.length ? this.src[this.pos]! : EOF;
  }
  private next(): string {
    return this.pos < this.src.length ? this.src[this.pos++]! : EOF;
  }

  /** Processes until `stop` (consumed) or the end; an unmatched `stop` is an error. */
  processStopOn(stop: string): { word: string; words: string[] } {
    let result = '';
    const words = new WordCollector();
    while (this.peek() !== EOF) {
      const ch = this.peek();
      if (stop !== EOF && ch === stop) {
        this.next();
        return { word: result, words: words.finish() };
      }
      if (ch === '$') {
        const value = this.processDollar();
        result += value;
        checkLength(result);
        words.addString(value);
      } else if (!this.opts.skipProcessQuotes && (ch === "'" || ch === '"')) {
        const value = ch === "'" ? this.processSingleQuote() : this.processDoubleQuote();
        result += value;
        checkLength(result);
        words.addRawString(value);
      } else {
        let c = this.next();
        if (c === this.opts.escape) {
          if (this.opts.rawEscapes) {
            words.addRawChar(c);
            result += c;
          }
          c = this.next();
          if (c === EOF) break;
          words.addRawChar(c);
        } else {
          words.addChar(c);
        }
        result += c;
      }
    }
    if (stop !== EOF) throw new LexError(`unexpected end of statement while looking for matching ${stop}`);
    return { word: result, words: words.finish() };
  }

  private processSingleQuote(): string {
    let result = '';
    const open = this.next();
    if (this.opts.rawQuotes) result += open;
    for (;;) {
      const ch = this.next();
      if (ch === EOF) throw new LexError('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") {
        if (this.opts.rawQuotes) result += ch;
        return result;
      }
      result += ch;
    }
  }

  private processDoubleQuote(): string {
    let result = '';
    const open = this.next();
    if (this.opts.rawQuotes) result += open;
    for (;;) {
      const p = this.peek();
      if (p === EOF) throw new LexError('unexpected end of statement while looking for matching double-quote');
      if (p === '"') {
        this.next();
        if (this.opts.rawQuotes) result += p;
        return result;
      }
      if (p === '$') {
        result += this.processDollar();
        checkLength(result);
        continue;
      }
      let ch = this.next();
      if (ch === this.opts.escape) {
        if (this.opts.rawEscapes) result += ch;
        const after = this.peek();
        if (after === EOF) continue;
        if (after === '"' || after === '$' || after === this.opts.escape) ch = this.next();
      }
      result += ch;
    }
  }

  private getEnv(name: string): string | undefined {
    const value = this.lookup(name);
    if (value !== undefined) this.used.add(name);
    return value;
  }

  private processName(): string {
    let name = '';
    while (this.peek() !== EOF) {
      const ch = this.peek();
      if (name.length === 0 && /[0-9]/.test(ch)) {
        while (/[0-9]/.test(this.peek()) && this.peek() !== EOF) name += this.next();
        return name;
      }
      if (name.length === 0 && specialParams.has(ch)) return this.next();
      if (!isNameChar(ch)) break;
      name += this.next();
    }
    return name;
  }

  private processDollar(): string {
    const start = this.pos;
    this.next(); // '$'
    if (this.peek() !== '{') {
      const name = this.processName();
      if (name === '') return '$';
      const value = this.getEnv(name);
      if (value === undefined && this.opts.skipUnsetEnv) return this.src.slice(start, this.pos);
      return value ?? '';
    }
    this.next(); // '{'
    if (this.depth >= maxSubstitutionDepth) {
      throw new LexError(`variable substitutions nested more than ${maxSubstitutionDepth} levels deep`);
    }
    const first = this.peek();
    if (first === EOF) throw new LexError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new LexError('syntax error: bad substitution');
    const name = this.processName();
    const op = this.next();
    if (op === '}') {
      const value = this.getEnv(name);
      if (value === undefined && this.opts.skipUnsetEnv) return this.src.slice(start, this.pos);
      return value ?? '';
    }
    if (op === EOF) throw new LexError("syntax error: missing '}'");
    let modifier: string;
    if (op === ':') {
      const m = this.next();
      if (m !== '-' && m !== '+' && m !== '?') {
        throw new LexError(m === EOF ? "syntax error: missing '}'" : `unsupported modifier (${m}) in substitution`);
      }
      modifier = ':' + m;
    } else if (op === '-' || op === '+' || op === '?') {
      modifier = op;
    } else if (op === '#' || op === '%') {
      modifier = this.peek() === op ? op + this.next() : op;
    } else {
      throw new LexError(`unsupported modifier (${op}) in substitution`);
    }
    this.depth++;
    const word = this.processWordUntilBrace();
    this.depth--;
    const value = this.getEnv(name);
    if (value === undefined && this.opts.skipUnsetEnv) return this.src.slice(start, this.pos);
    switch (modifier) {
      case ':-':
        return value === undefined || value === '' ? word : value;
      case '-':
        return value === undefined ? word : value;
      case ':+':
        return value !== undefined && value !== '' ? word : '';
      case '+':
        return value !== undefined ? word : '';
      case ':?':
      case '?':
        if (value === undefined) throw new LexError(`${name}: ${word || 'is not allowed to be unset'}`);
        if (modifier === ':?' && value === '') throw new LexError(`${name}: ${word || 'is not allowed to be empty'}`);
        return value;
      default:
        try {
          return trimPattern(value ?? '', word, modifier as '#' | '##' | '%' | '%%');
        } catch (err) {
          if (err instanceof PatternTooComplex) throw new LexError(err.message);
          throw err;
        }
    }
  }

  private processWordUntilBrace(): string {
    try {
      return this.processStopOn('}').word;
    } catch (err) {
      if (this.peek() === EOF && err instanceof LexError && err.message.startsWith('unexpected end of statement while looking for matching }')) {
        throw new LexError("syntax error: missing '}'");
      }
      throw err;
    }
  }
}

function lookupIn(env: Env): (name: string) => string | undefined {
  if (env instanceof Map) return (name) => env.get(name);
  const record = env as Readonly<Record<string, string>>;
  return (name) => (Object.prototype.hasOwnProperty.call(record, name) ? record[name] : undefined);
}

/** Runs the lexer over `text`; throws `LexError` on a syntax error. */
export function lex(text: string, env: Env, options: LexOptions = {}): LexResult {
  const opts: Required<LexOptions> = {
    escape: options.escape ?? '\\',
    rawQuotes: options.rawQuotes ?? false,
    rawEscapes: options.rawEscapes ?? false,
    skipUnsetEnv: options.skipUnsetEnv ?? false,
    skipProcessQuotes: options.skipProcessQuotes ?? false,
  };
  const sw = new ShellWord(text, lookupIn(env), opts);
  const { word, words } = sw.processStopOn(EOF);
  return { word, words, used: sw.used };
}
