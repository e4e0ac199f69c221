import { InvalidArgumentError } from '@berth/errors';

/**
 * Variable substitution in one string, as the Compose specification's interpolation section says:
 * `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`,
 * `${VAR:+alternate}`, `${VAR+alternate}`, nested expressions in the default / error / alternate
 * text, and `$$` for a literal `$`. A `$` that does not start a name or `{` stays as it is (the
 * spec: "it will be preserved without attempt to interpolate"). As Compose does, the text after
 * the operator is always evaluated, whether or not it is used.
 *
 * The scanner reads each character once and recurses only into `${`, so the cost is linear in the
 * length of the template, and nesting deeper than `maxDepth` is refused with a clear error.
 */

export interface SubstituteOptions {
  /** The value of a variable, undefined when unset. */
  lookup: (name: string) => string | undefined;
  /** Called once per reference to an unset variable that falls back to an empty string. */
  onUnset?: (name: string) => void;
  /** Deepest `${` nesting accepted (default 64). */
  maxDepth?: number;
}

const defaultMaxDepth = 64;

function isNameStart(code: number): boolean {
  return code === 95 || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

function isNameChar(code: number): boolean {
  return isNameStart(code) || (code >= 48 && code <= 57);
}

function invalid(template: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid interpolation format in ${JSON.stringify(template)}: you may need to escape any $ with another $`, {
    code: 'COMPOSE_INTERPOLATION',
  });
}

/** Substitutes the variables of `template`; throws InvalidArgumentError for bad syntax or a required variable. */
export function substitute(template: string, options: SubstituteOptions): string {
  if (!template.includes('$')) return template;
  const maxDepth = options.maxDepth ?? defaultMaxDepth;
  const n = template.length;

  const lookup = (name: string, warn: boolean): string | undefined => {
    const value = options.lookup(name);
    if (value === undefined && warn) options.onUnset?.(name);
    return value;
  };

  // Returns the text up to (not including) the closing brace when `inBraces`, and the index reached.
  const scan = (start: number, inBraces: boolean, depth: number): [string, number] => {
    let out = '';
    let i = start;
    while (i < n) {
      const c = template.charCodeAt(i);
      if (c === 125 /* } */ && inBraces) return [out, i];
      if (c !== 36 /* $ */) {
        let j = i + 1;
        while (j < n) {
          const d = template.charCodeAt(j);
          if (d === 36 || (d === 125 && inBraces)) break;
          j++;
        }
        out += template.slice(i, j);
        i = j;
        continue;
      }
      const next = template.charCodeAt(i + 1);
      if (next === 36) {
        out += '$';
        i += 2;
      } else if (next === 123 /* { */) {
        const [value, end] = braced(i, depth + 1);
        out += value;
        i = end;
      } else if (isNameStart(next)) {
        let j = i + 2;
        while (j < n && isNameChar(template.charCodeAt(j))) j++;
        out += lookup(template.slice(i + 1, j), true) ?? '';
        i = j;
      } else {
        out += '$';
        i += 1;
      }
    }
    return [out, i];
  };

  // `start` is the index of the `$` of `${`; returns the value and the index after the closing brace.
  const braced = (start: number, depth: number): [string, number] => {
    if (depth > maxDepth) {
      throw new InvalidArgumentError(`interpolation nested more than ${maxDepth} levels deep in ${JSON.stringify(template.slice(0, 80))}`, {
        code: 'COMPOSE_INTERPOLATION',
      });
    }
    let j = start + 2;
    if (j >= n || !isNameStart(template.charCodeAt(j))) throw invalid(template);
    while (j < n && isNameChar(template.charCodeAt(j))) j++;
    const name = template.slice(start + 2, j);
    if (j >= n) throw invalid(template);
    if (template.charCodeAt(j) === 125) return [lookup(name, true) ?? '', j + 1];
    let op = '';
    if (template[j] === ':' && '-?+'.includes(template[j + 1] ?? '_')) {
      op = template.slice(j, j + 2);
      j += 2;
    } else if ('-?+'.includes(template[j]!)) {
      op = template[j]!;
      j += 1;
    } else {
      throw invalid(template);
    }
    const [arg, end] = scan(j, true, depth);
    if (end >= n) throw invalid(template);
    const value = lookup(name, false);
    const set = value !== undefined;
    const nonEmpty = set && value !== '';
    let result: string;
    switch (op) {
      case ':-':
        result = nonEmpty ? value : arg;
        break;
      case '-':
        result = set ? value : arg;
        break;
      case ':+':
        result = nonEmpty ? arg : '';
        break;
      case '+':
        result = set ? arg : '';
        break;
      default: {
        const ok = op === ':?' ? nonEmpty : set;
        if (!ok) {
          throw new InvalidArgumentError(`required variable ${name} is missing a value${arg ? `: ${arg}` : ''}`, {
            code: 'COMPOSE_REQUIRED_VARIABLE',
            detail: { variable: name },
          });
        }
        result = value!;
      }
    }
    return [result, end + 1];
  };

  return scan(0, false, 0)[0];
}
