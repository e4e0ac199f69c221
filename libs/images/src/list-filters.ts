import { InvalidArgumentError } from '@berth/errors';

/**
 * `docker images --filter` semantics. Filters come as Docker's JSON form (`{"dangling":["true"]}`)
 * or as key/value pairs (the gRPC form); several values of one key are alternatives (OR), different
 * keys must all hold (AND).
 */
export type ImageFilters = Record<string, string[]> | Array<{ key: string; value: string }>;

export const IMAGE_FILTER_KEYS = ['dangling', 'reference', 'label', 'before', 'since'] as const;

export function normalizeFilters(filters: ImageFilters | undefined, allowed: readonly string[] = IMAGE_FILTER_KEYS): Map<string, string[]> {
  const map = new Map<string, string[]>();
  const pairs = Array.isArray(filters)
    ? filters.map((f) => [f.key, [f.value]] as const)
    : Object.entries(filters ?? {});
  for (const [key, values] of pairs) {
    if (!allowed.includes(key)) throw new InvalidArgumentError(`invalid filter '${key}'`);
    map.set(key, [...(map.get(key) ?? []), ...values]);
  }
  const dangling = map.get('dangling');
  for (const v of dangling ?? []) {
    if (!['true', 'false', '1', '0'].includes(v.toLowerCase())) throw new InvalidArgumentError(`invalid filter 'dangling=${v}'`);
  }
  return map;
}

/** `dangling=true` → true, `false` → false, absent → undefined. */
export function danglingFilter(filters: Map<string, string[]>): boolean | undefined {
  const values = filters.get('dangling');
  if (!values || values.length === 0) return undefined;
  return ['true', '1'].includes(values[0]!.toLowerCase());
}

/** `label=key` (present) or `label=key=value` (equal); every label filter must hold. */
export function matchLabels(labels: Record<string, string> | undefined, wanted: string[] | undefined): boolean {
  for (const w of wanted ?? []) {
    const i = w.indexOf('=');
    const key = i < 0 ? w : w.slice(0, i);
    if (!labels || !(key in labels)) return false;
    if (i >= 0 && labels[key] !== w.slice(i + 1)) return false;
  }
  return true;
}

/**
 * Go's `path.Match`: `*` any run of non-`/` characters, `?` one non-`/` character, `[...]` a class
 * (`[^...]` negated, ranges), `\` escapes. Used as Docker's `reference` filter.
 */
export function globMatch(pattern: string, name: string): boolean {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\' && i + 1 < pattern.length) re += escapeRegExp(pattern[++i]!);
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) throw new InvalidArgumentError(`Invalid reference filter pattern "${pattern}": unclosed "["`);
      let body = pattern.slice(i + 1, close);
      const negate = body.startsWith('^') || body.startsWith('!');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^/' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`;
      i = close;
    } else re += escapeRegExp(c);
  }
  return new RegExp(`${re}$`).test(name);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
