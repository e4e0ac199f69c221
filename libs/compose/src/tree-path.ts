import type { PathSegments } from './parse-yaml.js';

/**
 * Field path patterns over the Compose model, as compose-go's `tree.Path`: `services.*.ports.[].target`,
 * where `*` matches any mapping key and `[]` any list index.
 */
export type PathPattern = string[];

export function pattern(text: string): PathPattern {
  return text.split('.');
}

export function matches(path: PathSegments, pat: PathPattern): boolean {
  if (path.length !== pat.length) return false;
  for (let i = 0; i < pat.length; i++) {
    const p = pat[i]!;
    const s = path[i]!;
    if (p === '[]') {
      if (typeof s !== 'number') return false;
    } else if (p === '*') {
      if (typeof s !== 'string') return false;
    } else if (p !== s) {
      return false;
    }
  }
  return true;
}

/**
 * A table of values by path pattern, in order: the lookup gives the value of the first pattern that
 * matches a path (undefined when none does).
 */
export function pathTable<T>(rows: Array<[string, T]>): (path: PathSegments) => T | undefined {
  const compiled = rows.map(([text, value]): [PathPattern, T] => [pattern(text), value]);
  return (path) => compiled.find(([p]) => matches(path, p))?.[1];
}
