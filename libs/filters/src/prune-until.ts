import { InvalidArgumentError } from '@berth/errors';
import type { FilterArgs } from './filter-args.js';
import { parseTimeArg } from './time-arg.js';

/**
 * The `until` filter of `container prune`, `image prune`, `network prune` and `system prune`
 * (Docker's getUntilFromPruneFilters): only objects created before it go. Milliseconds since the
 * epoch, undefined without the filter. InvalidArgumentError `more than one until filter specified`,
 * or the time argument's own error.
 */
export function pruneUntil(filters: FilterArgs, now: number = Date.now()): number | undefined {
  if (!filters.has('until')) return undefined;
  const values = filters.get('until');
  if (values.length > 1) throw new InvalidArgumentError('more than one until filter specified');
  return parseTimeArg(values[0] ?? '', now);
}
