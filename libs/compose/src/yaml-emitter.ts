import { parseGoInt } from './yaml-scalar.js';

/**
 * A YAML writer that prints plain data the way Docker Compose's encoder (go-yaml v3, indent 2)
 * does, so `berth compose config` output matches `docker compose config` byte for byte: block
 * style, sequences indented under their key, strings plain when go-yaml would leave them plain,
 * double-quoted when they would read back as another type (`"8080"`, `"true"`, `"0444"`, `""`),
 * single-quoted when they contain indicators (`': '`, `' #'`), literal blocks (`|`, `|-`) for
 * multi-line text, `null`, `{}` and `[]`. Object key order is kept as given.
 */

const nullWords = new Set(['', '~', 'null', 'Null', 'NULL']);
const boolWords = new Set(['true', 'True', 'TRUE', 'false', 'False', 'FALSE']);
const oldBools = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'n', 'N', 'no', 'No', 'NO', 'on', 'On', 'ON', 'off', 'Off', 'OFF']);
const specialFloats = new Set(['.nan', '.NaN', '.NAN', '.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF', '-.inf', '-.Inf', '-.INF']);
const floatPattern = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const base60Pattern = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;
const timestampPattern = /^\d{4}-\d{1,2}-\d{1,2}(?:(?:[Tt]|[ \t]+)\d{1,2}:\d{1,2}:\d{1,2}(?:\.\d*)?(?:[ \t]*(?:Z|[-+]\d{1,2}(?::\d{2})?))?)?$/;

/** Whether go-yaml would read the plain text back as something other than a string. */
function resolvesToNonString(s: string): boolean {
  if (nullWords.has(s) || boolWords.has(s) || specialFloats.has(s) || s === '<<') return true;
  const c = s[0]!;
  if (!('0123456789+-.'.includes(c))) return false;
  const plain = s.replace(/_/g, '');
  if (parseGoInt(plain) !== undefined) return true;
  if (/^[-+]?0[bB][01]+$/.test(plain)) return true;
  if (floatPattern.test(plain)) return true;
  return timestampPattern.test(s);
}

function isPrintable(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0x7e) ||
    code === 0x85 ||
    (code >= 0xa0 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd && code !== 0xfeff) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

type Style = 'plain' | 'single' | 'double' | 'literal';

function chooseStyle(s: string, isKey: boolean): Style {
  if (s.includes('\n')) return isKey || !blockAllowed(s) ? 'double' : 'literal';
  if (resolvesToNonString(s) || base60Pattern.test(s) || oldBools.has(s)) return 'double';
  const chars = Array.from(s);
  // go-yaml's analysis, its block-context half only (this writer never prints flow style).
  let blockIndicators = false;
  let special = false;
  let leadingSpace = false;
  let trailingSpace = false;
  let tabs = false;
  if (s.startsWith('---') || s.startsWith('...')) blockIndicators = true;
  let precededByWhitespace = true;
  chars.forEach((ch, i) => {
    const code = ch.codePointAt(0)!;
    const next = chars[i + 1];
    const followedByWhitespace = next === undefined || next === ' ' || next === '\t' || next === '\n' || next === '\r';
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(ch)) blockIndicators = true;
      if ((ch === '?' || ch === ':' || ch === '-') && followedByWhitespace) blockIndicators = true;
    } else {
      if (ch === ':' && followedByWhitespace) blockIndicators = true;
      if (ch === '#' && precededByWhitespace) blockIndicators = true;
    }
    if (!isPrintable(code)) special = true;
    if (ch === ' ') {
      if (i === 0) leadingSpace = true;
      if (i === chars.length - 1) trailingSpace = true;
    }
    if (ch === '\t') tabs = true;
    precededByWhitespace = ch === ' ' || ch === '\t' || ch === '\r';
  });
  const plainAllowed = !(leadingSpace || trailingSpace || special || blockIndicators || tabs);
  if (plainAllowed && !(isKey && s === '')) return 'plain';
  if (!special && !tabs) return 'single';
  return 'double';
}

function blockAllowed(s: string): boolean {
  for (const ch of s) {
    if (!isPrintable(ch.codePointAt(0)!)) return false;
  }
  return !/ \n/.test(s) && !/[ \t]$/.test(s) && !s.includes('\r');
}

function doubleQuoted(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\0':
        out += '\\0';
        continue;
    }
    if (!isPrintable(code) || code === 0xfeff) {
      out += code <= 0xff ? `\\x${code.toString(16).toUpperCase().padStart(2, '0')}` : code <= 0xffff ? `\\u${code.toString(16).toUpperCase().padStart(4, '0')}` : `\\U${code.toString(16).toUpperCase().padStart(8, '0')}`;
    } else {
      out += ch;
    }
  }
  return `${out}"`;
}

function literal(s: string, indent: string): string {
  let chomp = '';
  if (!s.endsWith('\n')) chomp = '-';
  else if (s.endsWith('\n\n') || s === '\n') chomp = '+';
  const hint = s.startsWith(' ') || s.startsWith('\n') ? '2' : '';
  let body = s;
  if (body.endsWith('\n')) body = body.slice(0, -1);
  const lines = body.split('\n').map((l) => (l === '' ? '' : indent + l));
  return `|${hint}${chomp}\n${lines.join('\n')}`;
}

/** A scalar as go-yaml prints it (the literal-block form needs the indentation of its lines). */
export function formatScalar(value: unknown, isKey = false, blockIndent = ''): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return '.nan';
    if (!Number.isFinite(value)) return value > 0 ? '.inf' : '-.inf';
    return String(value);
  }
  const s = String(value);
  switch (chooseStyle(s, isKey)) {
    case 'plain':
      return s;
    case 'single':
      return `'${s.replace(/'/g, "''")}'`;
    case 'literal':
      return literal(s, blockIndent);
    default:
      return doubleQuoted(s);
  }
}

const isDict = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function emit(value: unknown, indent: number, out: string[]): void {
  const pad = ' '.repeat(indent);
  if (isDict(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      const key = formatScalar(k, true);
      if (isDict(v) && Object.keys(v).length > 0) {
        out.push(`${pad}${key}:`);
        emit(v, indent + 2, out);
      } else if (Array.isArray(v) && v.length > 0) {
        out.push(`${pad}${key}:`);
        emit(v, indent + 2, out);
      } else {
        out.push(`${pad}${key}: ${inline(v, indent + 2)}`);
      }
    }
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) {
      if ((isDict(item) && Object.keys(item).length > 0) || (Array.isArray(item) && item.length > 0)) {
        const sub: string[] = [];
        emit(item, indent + 2, sub);
        sub[0] = `${pad}- ${sub[0]!.slice(indent + 2)}`;
        out.push(...sub);
      } else {
        out.push(`${pad}- ${inline(item, indent + 2)}`);
      }
    }
    return;
  }
  out.push(pad + inline(value, indent));
}

function inline(v: unknown, indent: number): string {
  if (isDict(v)) return '{}';
  if (Array.isArray(v)) return '[]';
  return formatScalar(v, false, ' '.repeat(indent));
}

/** The YAML document for `value`, ending with a newline. */
export function toYaml(value: unknown): string {
  const out: string[] = [];
  emit(value, 0, out);
  return `${out.join('\n')}\n`;
}
