import { InvalidArgumentError } from '@berth/errors';
import { statusOf } from './state.js';
import type { ContainerRecord } from './types.js';

/**
 * Docker's `ps --filter`: `status`, `name` (regexp on the name), `id` (prefix), `label` (`k` or
 * `k=v`), `ancestor` (image ids resolved by the caller, or the reference as given), `health`
 * (`starting`, `healthy`, `unhealthy`, `none`: no healthcheck or never started). Several values
 * of one key are OR'ed, keys are AND'ed. InvalidArgumentError `Invalid filter 'x'` for another key.
 */
export function matchesFilters(rec: ContainerRecord, filters: Record<string, string[]>, ancestors: Set<string>): boolean {
  const status = rec.State.Status === 'removing' ? 'removing' : statusOf(rec.State);
  for (const [key, values] of Object.entries(filters)) {
    if (values.length === 0) continue;
    const ok = values.some((value) => {
      switch (key) {
        case 'status':
          return status === value;
        case 'name':
          return new RegExp(value).test(rec.Name.slice(1)) || new RegExp(value).test(rec.Name);
        case 'id':
          return rec.Id.startsWith(value);
        case 'label': {
          const eq = value.indexOf('=');
          const labels = rec.Config.Labels ?? {};
          return eq < 0 ? value in labels : labels[value.slice(0, eq)] === value.slice(eq + 1);
        }
        case 'ancestor':
          return ancestors.has(rec.Image) || rec.ImageRef === value;
        case 'health':
          if (!['starting', 'healthy', 'unhealthy', 'none'].includes(value)) {
            throw new InvalidArgumentError(`Unrecognised filter value for health: ${value}`);
          }
          return (rec.State.Health?.Status ?? 'none') === value;
        default:
          throw new InvalidArgumentError(`Invalid filter '${key}'`);
      }
    });
    if (!ok) return false;
  }
  return true;
}
