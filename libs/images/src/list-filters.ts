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
