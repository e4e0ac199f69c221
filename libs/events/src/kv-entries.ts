import type { KV, KvEntry, NatsConnection } from 'nats';

/** NATS's answer to a write whose expected sequence is not the last ("wrong last sequence"). */
const WRONG_LAST_SEQUENCE = 10071;

/** Whether a KV entry holds a value: not a delete or purge marker, not empty. */
export function isLiveEntry(entry: KvEntry): boolean {
  return entry.operation === 'PUT' && entry.value.length > 0;
}

/**
 * Every live entry of KV bucket `bucket` (`kv`, opened on `nc`), of the keys matching `filter` (all
 * without one), by key.
 *
 * The keys come from one stream-info request (the subjects that hold a message now), not from
 * nats.js's kv.keys(): that consumer ends at the message that has nothing pending after it, and
 * never ends when that message expires (a bucket with a TTL) between the consumer's creation and
 * its delivery (nats-io/nats-server#3481). announcement-bucket.test.ts hung 60 s in a full run so,
 * an entry expiring while the gateway listed the hosts. A key that expires or is deleted after the
 * stream info is read reads as missing or as a marker, and is left out.
 */
export async function liveEntries(nc: NatsConnection, bucket: string, kv: KV, filter = '>', timeoutMs?: number): Promise<KvEntry[]> {
  return (await readEntries(nc, bucket, kv, filter, timeoutMs)).live;
}

/**
 * liveEntries, and every key the bucket holds a message for: a live entry's, an empty one's, and a
 * withdrawn one's (its delete marker stays until the bucket's TTL ends it). A key that was there
 * and is in neither was lost, not withdrawn: a memory stream loses what it held when its
 * nats-server restarts (apps/api service-directory.ts keeps such an entry until it would lapse).
 */
export async function readEntries(
  nc: NatsConnection,
  bucket: string,
  kv: KV,
  filter = '>',
  timeoutMs?: number,
): Promise<{ live: KvEntry[]; keys: Set<string> }> {
  const prefix = `$KV.${bucket}.`;
  const jsm = await nc.jetstreamManager({ checkAPI: false, ...(timeoutMs !== undefined ? { timeout: timeoutMs } : {}) });
  const info = await jsm.streams.info(`KV_${bucket}`, { subjects_filter: `${prefix}${filter}` });
  const keys = Object.keys(info.state.subjects ?? {})
    .map((subject) => subject.slice(prefix.length))
    .sort();
  const live: KvEntry[] = [];
  for (const key of keys) {
    const entry = await kv.get(key);
    if (entry && isLiveEntry(entry)) live.push(entry);
  }
  return { live, keys: new Set(keys) };
}

/**
 * Whether a KV write was refused because the key's last revision (or, sequenced-bucket.ts, the
 * stream's last sequence) is not the one expected, or the key exists, for a create.
 */
export function isWrongRevision(err: unknown): boolean {
  return (err as { api_error?: { err_code?: number } } | undefined)?.api_error?.err_code === WRONG_LAST_SEQUENCE;
}
