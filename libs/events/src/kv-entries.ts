import type { KV, KvEntry } from 'nats';

/** Whether a KV entry holds a value: not a delete or purge marker, not empty. */
export function isLiveEntry(entry: KvEntry): boolean {
  return entry.operation === 'PUT' && entry.value.length > 0;
}

/**
 * Every live entry of a KV bucket (of the keys matching `filter`, all without one), by key. The
 * keys are read first: a kv.get() while the keys() iterator is open ends that iterator early
 * (nats.js).
 */
export async function liveEntries(kv: KV, filter?: string): Promise<KvEntry[]> {
  // A Set: a key written again while nats.js lists the keys comes twice (a renewal of an
  // announcement during the listing; announcement-bucket.test.ts saw ['kept', 'kept']).
  const keys = new Set<string>();
  for await (const key of await kv.keys(filter)) keys.add(key);
  const out: KvEntry[] = [];
  for (const key of [...keys].sort()) {
    const entry = await kv.get(key);
    if (entry && isLiveEntry(entry)) out.push(entry);
  }
  return out;
}
