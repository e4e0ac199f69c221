import { InvalidArgumentError } from '@berth/errors';
import { FilterArgs, type FilterInput } from '@berth/filters';

/**
 * `docker images --filter` / `image prune --filter`: Docker's filters.Args semantics (@berth/filters):
 * several values of one key are alternatives (OR), different keys must all hold (AND), every
 * `label` must hold. Filters come as Docker's JSON form (`{"dangling":["true"]}`) or as key/value
 * pairs (the gRPC form).
 */
export type ImageFilters = FilterInput;

export const IMAGE_FILTER_KEYS = ['dangling', 'reference', 'label', 'before', 'since', 'until'] as const;

/** The filters, checked: InvalidArgumentError `invalid filter 'x'` for a key not `allowed`. */
export function normalizeFilters(filters: ImageFilters | undefined, allowed: readonly string[] = IMAGE_FILTER_KEYS): FilterArgs {
  return FilterArgs.from(filters).validate(allowed);
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
