import { type KV, type KvEntry, type NatsConnection, StorageType } from 'nats';
import { liveEntries, readEntries } from './kv-entries.js';
import { streamReplicas } from './stream-replicas.js';

export interface PlatformBucketOptions {
  /** How long an entry lives (ms); none: until deleted. */
  ttlMs?: number;
  /** Kept in memory, not on disk (entries that are renewed within their TTL). */
  memory?: boolean;
  /** One replica even in a NATS cluster (the overlay endpoints: the agents write them again within 5 s). */
  single?: boolean;
  /** Deadline of each JetStream request (ms); nats.js's default otherwise. */
  requestTimeoutMs?: number;
}

/**
 * Opens one of the platform's KV buckets, creating it when missing: one value per key, three
 * replicas in a NATS cluster of three servers (stream-replicas.ts), and every read answered by the
 * stream's leader. Not by any replica (`allow_direct`): nats-server before 2.9.17 answers direct
 * gets from a replica that has restarted or just joined before it has caught up
 * (nats-io/nats-server#4162), so a key that exists reads as missing there (a full run saw the
 * gateway's list of hosts come back empty right after a cluster formed and after a nats-server
 * restart: "No such node", "No such container"). A bucket created with direct gets keeps them in
 * its config; this client does not use them (nats.js reads `allow_direct: false` as "do not").
 */
export function openPlatformBucket(nc: NatsConnection, name: string, options: PlatformBucketOptions = {}): Promise<KV> {
  const js = nc.jetstream(options.requestTimeoutMs !== undefined ? { timeout: options.requestTimeoutMs } : {});
  return js.views.kv(name, {
    history: 1,
    allow_direct: false,
    ...(options.ttlMs !== undefined ? { ttl: options.ttlMs } : {}),
    ...(options.memory ? { storage: StorageType.Memory } : {}),
    replicas: options.single ? 1 : streamReplicas(nc),
  });
}

/**
 * One platform bucket, opened at its first use and opened again after an operation failed: a
 * memory bucket is gone once its nats-server restarts (opening creates it again), and a connection
 * that moved to another server of a cluster may need the stream looked up again.
 */
export class PlatformBucket {
  private kv?: Promise<KV>;

  constructor(
    private readonly nc: NatsConnection,
    readonly name: string,
    private readonly options: PlatformBucketOptions = {},
  ) {}

  /** The bucket, opened once (a bucket on file: its stream outlives nats-server restarts). */
  open(): Promise<KV> {
    this.kv ??= openPlatformBucket(this.nc, this.name, this.options);
    const opening = this.kv;
    opening.catch(() => {
      if (this.kv === opening) this.kv = undefined; // tried again by the next call
    });
    return opening;
  }

  /** The entries that hold a value, by key, of the keys matching `filter` (kv-entries.ts). */
  entries(filter?: string): Promise<KvEntry[]> {
    return this.use((kv) => liveEntries(this.nc, this.name, kv, filter, this.options.requestTimeoutMs));
  }

  /** entries(), and every key the bucket holds a message for, withdrawn ones too (kv-entries.ts readEntries). */
  read(filter?: string): Promise<{ live: KvEntry[]; keys: Set<string> }> {
    return this.use((kv) => readEntries(this.nc, this.name, kv, filter, this.options.requestTimeoutMs));
  }

  /** Runs `op` on the bucket; after a failure the next call opens it again. */
  async use<R>(op: (kv: KV) => Promise<R>): Promise<R> {
    try {
      return await op(await this.open());
    } catch (err) {
      this.kv = undefined;
      throw err;
    }
  }
}
