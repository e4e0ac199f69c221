import { InvalidArgumentError } from '@berth/errors';
import { FilterArgs, type FilterInput, pruneUntil } from '@berth/filters';
import type { NetworkRecord } from './types.js';

/** What the filters ask of a network besides its record. */
export interface NetworkFacts {
  /** Whether a container (running or not) is attached. */
  inUse(n: NetworkRecord): boolean;
}

/**
 * Docker's `network ls` filters (moby daemon/network/filter.go): `name` and `id` (exact or regular
 * expression), `driver` and `scope` (exact), `label` (every one holds), `type` (`builtin` |
 * `custom`), `dangling` (true: user-defined and unused). Keys AND, values of one key OR.
 * InvalidArgumentError with Docker's messages for an unknown key or value.
 */
export function filterNetworks(networks: NetworkRecord[], input: FilterInput | undefined, facts: NetworkFacts): NetworkRecord[] {
  const f = FilterArgs.from(input).validate(['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type']);
  let out = networks.filter(
    (n) =>
      f.exactMatch('driver', n.Driver) &&
      f.match('name', n.Name) &&
      f.match('id', n.Id) &&
      f.matchKVList('label', n.Labels) &&
      f.exactMatch('scope', n.Scope || 'local'),
  );
  const dangling = f.get('dangling');
  if (dangling.length > 1) throw new InvalidArgumentError('got more than one value for filter key "dangling"');
  if (dangling.length === 1) {
    const v = dangling[0]!;
    if (!['0', 'false', '1', 'true'].includes(v)) {
      throw new InvalidArgumentError(`invalid value for filter 'dangling', must be "true" (or "1"), or "false" (or "0")`);
    }
    const only = v === '1' || v === 'true';
    out = out.filter((n) => (only ? !n.Predefined && !facts.inUse(n) : Boolean(n.Predefined) || facts.inUse(n)));
  }
  if (f.has('type')) {
    const kinds = f.get('type');
    for (const kind of kinds) {
      if (kind !== 'builtin' && kind !== 'custom') throw new InvalidArgumentError(`invalid filter: 'type'='${kind}'`);
    }
    out = out.filter((n) => kinds.includes(n.Predefined ? 'builtin' : 'custom'));
  }
  return out;
}

/**
 * Docker's `network prune` filters: `until` (created before), `label` (every one holds), `label!`
 * (not all of them hold). InvalidArgumentError `invalid filter 'x'` for another key.
 */
export function networkPruneFilter(input: FilterInput | undefined): (n: NetworkRecord) => boolean {
  const f = FilterArgs.from(input).validate(['until', 'label', 'label!']);
  const until = pruneUntil(f);
  return (n) =>
    (until === undefined || Date.parse(n.Created) <= until) &&
    f.matchKVList('label', n.Labels) &&
    !(f.has('label!') && f.matchKVList('label!', n.Labels));
}
