import { InvalidArgumentError } from '@berth/errors';
import type { Event } from '@berth/proto';

const keys = new Set(['type', 'event', 'container', 'image', 'label', 'network', 'volume', 'scope']);

/**
 * Docker's `events --filter` semantics: values of one key are OR'ed, keys are AND'ed.
 * container/image match the actor id (or its prefix) or the name/image attribute.
 */
export function matchesFilters(event: Event, filters: Array<{ key: string; value: string }>): boolean {
  const byKey = new Map<string, string[]>();
  for (const { key, value } of filters) {
    if (!keys.has(key)) throw new InvalidArgumentError(`Invalid filter "${key}"`);
    byKey.set(key, [...(byKey.get(key) ?? []), value]);
  }
  const attrs = event.actor?.attributes ?? {};
  const id = event.actor?.id ?? '';
  const test: Record<string, (v: string) => boolean> = {
    type: (v) => event.type === v,
    event: (v) => event.action === v || event.action.split(':')[0] === v,
    container: (v) => event.type === 'container' && (id.startsWith(v) || attrs.name === v),
    image: (v) =>
      (event.type === 'image' && (id === v || id.startsWith(v) || attrs.name === v)) ||
      (event.type === 'container' && (attrs.image === v || (attrs.image ?? '').split(':')[0] === v)),
    label: (v) => {
      const [k, val] = v.split(/=(.*)/s);
      return val === undefined ? k! in attrs : attrs[k!] === val;
    },
    network: (v) => event.type === 'network' && (id.startsWith(v) || attrs.name === v),
    volume: (v) => event.type === 'volume' && (id === v || attrs.name === v),
    scope: (v) => event.scope === v,
  };
  for (const [key, values] of byKey) if (!values.some(test[key]!)) return false;
  return true;
}
