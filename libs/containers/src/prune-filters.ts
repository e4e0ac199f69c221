import { InvalidArgumentError } from '@berth/errors';
import type { ContainerRecord } from './types.js';

/**
 * Docker's filters of `container prune` (and `system prune`): `until` (created before a time, the
 * caller parses it), `label` (`key` or `key=value`; every one must match) and `label!` (none may).
 * InvalidArgumentError `invalid filter 'x'` for any other key.
 */
export function pruneMatcher(filters: Record<string, string[]>, options: { until?: number } = {}): (rec: ContainerRecord) => boolean {
  for (const key of Object.keys(filters)) {
    if (!['until', 'label', 'label!'].includes(key)) throw new InvalidArgumentError(`invalid filter '${key}'`);
  }
  const has = (labels: Record<string, string>, filter: string) => {
    const eq = filter.indexOf('=');
    return eq < 0 ? filter in labels : labels[filter.slice(0, eq)] === filter.slice(eq + 1);
  };
  return (rec) => {
    const labels = rec.Config.Labels ?? {};
    if (options.until !== undefined && Date.parse(rec.Created) >= options.until) return false;
    if (!(filters.label ?? []).every((f) => has(labels, f))) return false;
    return !(filters['label!'] ?? []).some((f) => has(labels, f));
  };
}
