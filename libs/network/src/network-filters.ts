import { InvalidArgumentError } from '@berth/errors';
import type { NetworkRecord } from './types.js';

/**
 * Docker's filters of `network ls` and `network prune` (name, id, driver, label, type, scope): a
 * network passes when, for every filter key, one of its values matches. InvalidArgumentError
 * `invalid filter 'x'` for an unknown key.
 */
export function matchesFilters(n: NetworkRecord, filters: Record<string, string[]>): boolean {
  for (const [key, values] of Object.entries(filters)) {
    if (values.length === 0) continue;
    const ok = values.some((value) => {
      switch (key) {
        case 'name':
          return n.Name.includes(value);
        case 'id':
          return n.Id.startsWith(value);
        case 'driver':
          return n.Driver === value;
        case 'type':
          return value === 'builtin' ? Boolean(n.Predefined) : value === 'custom' ? !n.Predefined : false;
        case 'label': {
          const eq = value.indexOf('=');
          return eq < 0 ? value in n.Labels : n.Labels[value.slice(0, eq)] === value.slice(eq + 1);
        }
        case 'scope':
          return value === 'local';
        default:
          throw new InvalidArgumentError(`invalid filter '${key}'`);
      }
    });
    if (!ok) return false;
  }
  return true;
}
