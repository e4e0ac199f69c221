/**
 * `${v#p}` `${v##p}` `${v%p}` `${v%%p}`: removes the shortest / longest prefix / suffix of a value
 * that matches a shell pattern (`*`, `?`, `[a-z]`, `[!a-z]`, `\x`).
 *
 * The pattern runs as an automaton over the value once, noting every prefix length it accepts:
 * O(value × pattern) at worst, and no backtracking (a regular expression tried on every prefix was
 * quadratic, and `*a*a*a…b` exponential). Work beyond `maxSteps` is refused with `PatternTooComplex`.
 */

/** One position of the pattern: any run of characters, any one character, or a predicate. */
type Token = { star: true } | { star: false; test: (ch: string) => boolean };

export class PatternTooComplex extends Error {}

/** Generous for any real pattern (a 100-character pattern against a 500,000-character value). */
const maxSteps = 50_000_000;

export function trimPattern(value: string, pattern: string, op: '#' | '##' | '%' | '%%'): string {
  const suffix = op.startsWith('%');
  const longest = op.length === 2;
  let tokens = compile(pattern);
  let chars = Array.from(value);
  if (suffix) {
    tokens = tokens.reverse();
    chars = chars.reverse();
  }
  const n = matchedPrefix(chars, tokens, longest);
  if (n === undefined) return value;
  // `n` counts code points; slice by UTF-16 units.
  const units = chars.slice(0, n).reduce((sum, ch) => sum + ch.length, 0);
  return suffix ? value.slice(0, value.length - units) : value.slice(units);
}

/** The shortest (or longest) number of leading `chars` the pattern matches, or undefined. */
function matchedPrefix(chars: string[], tokens: Token[], longest: boolean): number | undefined {
  const m = tokens.length;
  let active: number[] = [];
  let mark = new Uint8Array(m + 1);
  const add = (list: number[], marks: Uint8Array, state: number) => {
    // A star may match nothing: entering it also enters the next position (stars never repeat).
    for (let s = state; s <= m; s++) {
      if (marks[s]) return;
      marks[s] = 1;
      list.push(s);
      if (s === m || !tokens[s]!.star) return;
    }
  };
  add(active, mark, 0);
  let found = mark[m] ? 0 : undefined;
  if (found !== undefined && !longest) return 0;
  let steps = 0;
  for (let k = 0; k < chars.length && active.length > 0; k++) {
    const ch = chars[k]!;
    const next: number[] = [];
    const nextMark = new Uint8Array(m + 1);
    steps += active.length;
    if (steps > maxSteps) throw new PatternTooComplex(`pattern too complex to match a value of ${chars.length} characters`);
    for (const s of active) {
      if (s === m) continue;
      const token = tokens[s]!;
      if (token.star) add(next, nextMark, s);
      else if (token.test(ch)) add(next, nextMark, s + 1);
    }
    active = next;
    mark = nextMark;
    if (mark[m]) {
      found = k + 1;
      if (!longest) return found;
    }
  }
  return found;
}

function compile(pattern: string): Token[] {
  const tokens: Token[] = [];
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '*') {
      if (!tokens.at(-1)?.star) tokens.push({ star: true });
    } else if (ch === '?') {
      tokens.push({ star: false, test: () => true });
    } else if (ch === '[') {
      const end = chars.indexOf(']', i + 2);
      const cls = end < 0 ? undefined : characterClass(chars.slice(i + 1, end).join(''));
      if (cls === undefined) tokens.push(literal('['));
      else {
        tokens.push({ star: false, test: (c) => cls.test(c) });
        i = end;
      }
    } else if (ch === '\\' && i + 1 < chars.length) {
      tokens.push(literal(chars[++i]!));
    } else {
      tokens.push(literal(ch));
    }
  }
  return tokens;
}

function literal(ch: string): Token {
  return { star: false, test: (c) => c === ch };
}

/** `[a-z]`, `[!0-9]` as a one-character regular expression; undefined when it is not valid. */
function characterClass(body: string): RegExp | undefined {
  const negated = body.startsWith('!') || body.startsWith('^');
  const items = (negated ? body.slice(1) : body).replace(/[\\\]^[]/g, '\\$&');
  try {
    return new RegExp(`^[${negated ? '^' : ''}${items}]$`, 'su');
  } catch {
    return undefined;
  }
}
