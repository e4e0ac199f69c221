/**
 * Go's `path.Match`, the one glob matcher of the platform (image `reference` filters, COPY sources
 * and `--exclude`, `.dockerignore` segments):
 * - `*` matches any run of non-`/` characters, `?` one non-`/` character;
 * - `[...]` a class of characters and ranges (`[a-z0-9]`), `[^...]` its complement;
 * - `\c` matches `c` literally, inside a class too.
 *
 * A malformed pattern (`[` unclosed, `[]`, `[z-]`, a trailing `\`) is an InvalidArgumentError
 * `Invalid pattern "x": syntax error in pattern`, as Go's `ErrBadPattern` — even when the name
 * fails to match before the bad part is reached. A port of Go's `path/match.go` over code points.
 */
import { InvalidArgumentError } from '@berth/errors';

export interface PathMatchOptions {
  /** What the pattern is, for the error message (`reference filter pattern`); default `pattern`. */
  what?: string;
}

class BadPattern extends Error {}

export function pathMatch(pattern: string, name: string, options: PathMatchOptions = {}): boolean {
  try {
    return match(Array.from(pattern), Array.from(name));
  } catch (err) {
    if (!(err instanceof BadPattern)) throw err;
    throw new InvalidArgumentError(`Invalid ${options.what ?? 'pattern'} "${pattern}": syntax error in pattern`);
  }
}

function match(pattern: string[], name: string[]): boolean {
  let p = 0;
  let n = 0;
  pattern: while (p < pattern.length) {
    const { star, chunk, next } = scanChunk(pattern, p);
    p = next;
    if (star && chunk.length === 0) {
      // A trailing `*` matches the rest of the name unless it has a `/`.
      return !name.slice(n).includes('/');
    }
    // The chunk at the current position; the last chunk must use up the name.
    const here = matchChunk(chunk, name, n);
    if (here !== undefined && (here === name.length || p < pattern.length)) {
      n = here;
      continue;
    }
    if (star) {
      // Skip i+1 characters of the name (never a `/`) and try again.
      for (let i = n; i < name.length && name[i] !== '/'; i++) {
        const rest = matchChunk(chunk, name, i + 1);
        if (rest === undefined) continue;
        if (p === pattern.length && rest < name.length) continue;
        n = rest;
        continue pattern;
      }
    }
    // No match: the rest of the pattern must still be well formed.
    while (p < pattern.length) {
      const { chunk: later, next: after } = scanChunk(pattern, p);
      p = after;
      matchChunk(later, [], 0);
    }
    return false;
  }
  return n === name.length;
}

/** Leading stars, then the run up to the next `*` outside a class. */
function scanChunk(pattern: string[], from: number): { star: boolean; chunk: string[]; next: number } {
  let p = from;
  let star = false;
  while (p < pattern.length && pattern[p] === '*') {
    p++;
    star = true;
  }
  let inRange = false;
  let i = p;
  scan: for (; i < pattern.length; i++) {
    switch (pattern[i]) {
      case '\\':
        if (i + 1 < pattern.length) i++;
        break;
      case '[':
        inRange = true;
        break;
      case ']':
        inRange = false;
        break;
      case '*':
        if (!inRange) break scan;
    }
  }
  return { star, chunk: pattern.slice(p, i), next: i };
}

/**
 * Matches `chunk` (no unbracketed `*`) at `name[at]`: the index after the match, or undefined.
 * After a mismatch it reads on through the chunk to check its syntax (BadPattern).
 */
function matchChunk(chunk: string[], name: string[], at: number): number | undefined {
  let failed = false;
  let s = at;
  let c = 0;
  while (c < chunk.length) {
    if (!failed && s >= name.length) failed = true;
    const ch = chunk[c]!;
    if (ch === '[') {
      const r = failed ? '' : name[s++]!;
      c++;
      const negated = chunk[c] === '^';
      if (negated) c++;
      let matched = false;
      let ranges = 0;
      for (;;) {
        if (c < chunk.length && chunk[c] === ']' && ranges > 0) {
          c++;
          break;
        }
        const lo = getEsc(chunk, c);
        c = lo.next;
        let hi = lo.char;
        if (chunk[c] === '-') {
          const h = getEsc(chunk, c + 1);
          c = h.next;
          hi = h.char;
        }
        if (!failed && codePoint(lo.char) <= codePoint(r) && codePoint(r) <= codePoint(hi)) matched = true;
        ranges++;
      }
      if (matched === negated) failed = true;
    } else if (ch === '?') {
      if (!failed) {
        if (name[s] === '/') failed = true;
        s++;
      }
      c++;
    } else {
      if (ch === '\\') {
        c++;
        if (c >= chunk.length) throw new BadPattern();
      }
      if (!failed) {
        if (chunk[c] !== name[s]) failed = true;
        s++;
      }
      c++;
    }
  }
  return failed ? undefined : s;
}

/** One possibly escaped character of a class; a class must not end after it. */
function getEsc(chunk: string[], at: number): { char: string; next: number } {
  let c = at;
  if (c >= chunk.length || chunk[c] === '-' || chunk[c] === ']') throw new BadPattern();
  if (chunk[c] === '\\') {
    c++;
    if (c >= chunk.length) throw new BadPattern();
  }
  const char = chunk[c]!;
  c++;
  if (c >= chunk.length) throw new BadPattern();
  return { char, next: c };
}

function codePoint(ch: string): number {
  return ch.codePointAt(0)!;
}
