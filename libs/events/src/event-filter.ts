import { FilterArgs, type FilterInput } from '@berth/filters';
import { parseReference } from '@berth/oci';
import type { Event } from '@berth/proto';

/** The keys `events --filter` accepts (moby's acceptedEventFilters). */
const EVENT_FILTER_KEYS = ['config', 'container', 'daemon', 'event', 'image', 'label', 'network', 'node', 'plugin', 'scope', 'secret', 'service', 'type', 'volume'];

/** Object types whose filter matches the actor's id (by prefix) or its `name` attribute. */
const NAMED_TYPES = ['daemon', 'container', 'plugin', 'volume', 'network', 'service', 'node', 'secret', 'config'];

/** Actions an `event` filter may name without their `: detail` suffix (`exec_start: sh -c …`). */
const PREFIX_ACTIONS = new Set(['health_status', 'exec_create', 'exec_start']);

/** The repository of an image reference without tag or digest (`busybox:1` → `busybox`). */
function stripTag(image: string): string {
  try {
    return parseReference(image).familiarName();
  } catch {
    return image;
  }
}

/**
 * Docker's `events --filter` (moby daemon/events/filter.go): keys AND, values of one key OR.
 * `container`, `network`, `volume`, … match any event whose actor id starts with the value or whose
 * `name` attribute does (whatever the event's type, as Docker); `image` matches the actor id or the
 * `image` attribute (`name` for image events), with or without tag; `label` wants every given label
 * among the attributes; `event=exec_start` also matches `exec_start: sh`.
 */
export class EventFilter {
  private constructor(private readonly args: FilterArgs) {}

  /** InvalidArgumentError `invalid filter 'x'` for a key `events` does not know. */
  static of(filters?: FilterInput): EventFilter {
    return new EventFilter(FilterArgs.from(filters).validate(EVENT_FILTER_KEYS));
  }

  includes(event: Event): boolean {
    const f = this.args;
    const attrs = event.actor?.attributes ?? {};
    const id = event.actor?.id ?? '';
    const eventMatch = f.get('event').some((v) => PREFIX_ACTIONS.has(v)) ? f.fuzzyMatch('event', event.action) : f.exactMatch('event', event.action);
    if (!eventMatch || !f.exactMatch('type', event.type)) return false;
    if (f.has('scope') && !f.exactMatch('scope', event.scope || 'local')) return false;
    for (const type of NAMED_TYPES) {
      if (!f.fuzzyMatch(type, id) && !f.fuzzyMatch(type, attrs.name ?? '')) return false;
    }
    const imageName = (event.type === 'image' ? attrs.name : attrs.image) ?? '';
    if (!(f.exactMatch('image', id) || f.exactMatch('image', imageName) || f.exactMatch('image', stripTag(id)) || f.exactMatch('image', stripTag(imageName)))) {
      return false;
    }
    return !f.has('label') || f.matchKVList('label', attrs);
  }
}

