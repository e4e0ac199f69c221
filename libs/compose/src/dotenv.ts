import { InvalidArgumentError } from '@berth/errors';
import { composeError } from './compose-error.js';
import { substitute } from './template.js';

/**
 * `.env` and `env_file:` files, with the syntax of the Compose specification ("Env_file format"):
 * `#` comment lines, blank lines, an optional `export ` prefix, `VAR=VAL`, `VAR="VAL"` (escapes
 * `\n \r \t \\ \"`, may span lines, interpolated), `VAR='VAL'` (literal, `\'` for a quote),
 * unquoted values cut at an inline comment (` #`) and interpolated, `VAR=` (empty) and `VAR` alone
 * (taken from the environment when set there, else left unset). `raw` keeps every value exactly as
 * written after the `=`.
 */

export interface DotenvOptions {
  /** The file's name as the user wrote it, for error messages. */
  file: string;
  /** Variables available to `${}` expansion besides the ones the file defined above. */
  lookup?: (name: string) => string | undefined;
  /** `format: raw`: no quotes, escapes, comments after values or interpolation. */
  raw?: boolean;
  /** Collects "variable is not set" warnings. */
  warnings?: string[];
}

const keyPattern = /^[A-Za-z0-9_.-]+$/;

/** Parses the file's text into its variables, in order. */
export function parseDotenv(text: string, options: DotenvOptions): Map<string, string> {
  const out = new Map<string, string>();
  const n = text.length;
  let i = 0;
  let line = 1;
  const fail = (at: number, message: string) => composeError({ file: options.file, line: at }, message);
  const lookup = (name: string) => options.lookup?.(name) ?? out.get(name);
  const expand = (value: string, at: number) => {
    try {
      return substitute(value, {
        lookup,
        onUnset: (name) => options.warnings?.push(`The "${name}" variable is not set. Defaulting to a blank string.`),
      });
    } catch (e) {
      if (e instanceof InvalidArgumentError) throw fail(at, e.message);
      throw e;
    }
  };
  const countLines = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (text.charCodeAt(k) === 10) line++;
  };

  while (i < n) {
    // skip blank space, counting lines
    const c = text[i]!;
    if (c === '\n') {
      line++;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v' || c === '\uFEFF') {
      i++;
      continue;
    }
    let eol = text.indexOf('\n', i);
    if (eol < 0) eol = n;
    if (c === '#') {
      i = eol;
      continue;
    }
    const statementLine = line;
    let start = i;
    if (/^export[ \t]/.test(text.slice(i, i + 7))) {
      start = i + 7;
      while (text[start] === ' ' || text[start] === '\t') start++;
    }
    const eq = text.indexOf('=', start);
    if (eq < 0 || eq > eol) {
      // `VAR` alone: inherited from the environment
      const key = text.slice(start, eol).trim();
      if (!keyPattern.test(key)) throw fail(statementLine, `invalid variable name ${JSON.stringify(key)}: names may use letters, digits, "_", "." and "-"`);
      const value = options.lookup?.(key);
      if (value !== undefined) out.set(key, value);
      i = eol;
      continue;
    }
    const key = text.slice(start, eq).trim();
    if (!keyPattern.test(key)) throw fail(statementLine, `invalid variable name ${JSON.stringify(key)}: names may use letters, digits, "_", "." and "-"`);
    let j = eq + 1;
    if (options.raw) {
      out.set(key, text.slice(j, eol).replace(/\r$/, ''));
      i = eol;
      continue;
    }
    while (text[j] === ' ' || text[j] === '\t') j++;
    const quote = text[j];
    if (quote === '"' || quote === "'") {
      let k = j + 1;
      let raw = '';
      let closed = false;
      while (k < n) {
        const ch = text[k]!;
        if (ch === '\\' && k + 1 < n) {
          const next = text[k + 1]!;
          if (quote === "'") {
            raw += next === "'" ? "'" : `\\${next}`;
          } else {
            raw += next === 'n' ? '\n' : next === 'r' ? '\r' : next === 't' ? '\t' : next === '\\' ? '\\' : next === '"' ? '"' : `\\${next}`;
          }
          k += 2;
          continue;
        }
        if (ch === quote) {
          closed = true;
          break;
        }
        raw += ch;
        k++;
      }
      if (!closed) throw fail(statementLine, `unterminated quoted value for ${key}`);
      countLines(j, k);
      const value = quote === '"' ? expand(raw, statementLine) : raw;
      out.set(key, value);
      // After the closing quote only blanks and a comment may follow on that line.
      let rest = text.indexOf('\n', k + 1);
      if (rest < 0) rest = n;
      const trailing = text.slice(k + 1, rest).trim();
      if (trailing !== '' && !trailing.startsWith('#')) {
        throw fail(line, `unexpected ${JSON.stringify(trailing)} after the quoted value of ${key}`);
      }
      i = rest;
      continue;
    }
    let value = text.slice(j, eol);
    const comment = /[ \t]#/.exec(value);
    if (comment) value = value.slice(0, comment.index);
    value = value.replace(/[ \t\r]+$/, '');
    out.set(key, expand(value, statementLine));
    i = eol;
  }
  return out;
}
