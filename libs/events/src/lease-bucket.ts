import type { NatsConnection } from 'nats';
import { LEASES_BUCKET } from './subjects.js';
import { PlatformBucket } from './platform-bucket.js';
import { isLiveEntry, isWrongRevision } from './kv-entries.js';

/** How long a lease lives after its last write (the bucket's max age): a holder that stops renewing loses it then. */
export const LEASE_TTL_MS = 10_000;

/** Who holds a lease, as written in its key. */
export interface LeaseHolder {
  holder: string;
  /** When this holder took it (unix ms). */
  since: number;
}

/** A lease taken or renewed: the revision the next renewal must name. */
export interface HeldLease {
  revision: number;
}

/**
 * Leases in the KV bucket `leases` (a TTL bucket: every message lapses LEASE_TTL_MS after it was
 * written, nats-server's own clock, so no two machines' clocks are compared). A lease is one key:
 * taken by creating it (create-if-absent: only one of several writers succeeds), kept by rewriting
 * it naming the revision last written (`update`: refused once someone else wrote it), lost when its
 * holder stops rewriting it (the key lapses and the next `take` succeeds) or gives it back.
 * In memory, as the announcements: a lease lives one TTL and needs no disk, so a full data root
 * (where nats-server keeps its file store) cannot take it from its holder; a nats-server restart
 * loses it, and the next `take` succeeds. A bucket created by an older Berth on file is kept.
 */
export class LeaseBucket {
  private readonly bucket: PlatformBucket;

  constructor(nc: NatsConnection, ttlMs = LEASE_TTL_MS) {
    this.bucket = new PlatformBucket(nc, LEASES_BUCKET, { ttlMs, memory: true });
  }

  /** Takes `key` for `holder` when nobody holds it. @returns the lease, or undefined when someone else holds it. */
  async take(key: string, holder: LeaseHolder): Promise<HeldLease | undefined> {
    try {
      return { revision: await this.bucket.use((kv) => kv.create(key, encode(holder))) };
    } catch (err) {
      if (isWrongRevision(err)) return undefined;
      throw err;
    }
  }

  /** Renews a lease held at `lease.revision`. @returns its new revision, or undefined when it was lost (written by someone else since). */
  async renew(key: string, holder: LeaseHolder, lease: HeldLease): Promise<HeldLease | undefined> {
    try {
      return { revision: await this.bucket.use((kv) => kv.update(key, encode(holder), lease.revision)) };
    } catch (err) {
      if (isWrongRevision(err)) return undefined;
      throw err;
    }
  }

  /** Gives a lease back (only while it is still the one held at `lease.revision`): another may take it at once. */
  async release(key: string, lease: HeldLease): Promise<void> {
    try {
      await this.bucket.use((kv) => kv.delete(key, { previousSeq: lease.revision }));
    } catch (err) {
      if (!isWrongRevision(err)) throw err; // not ours any more: nothing to give back
    }
  }

  /** Who holds `key` now, if anyone. */
  async holder(key: string): Promise<LeaseHolder | undefined> {
    const entry = await this.bucket.use((kv) => kv.get(key));
    return entry && isLiveEntry(entry) ? (JSON.parse(new TextDecoder().decode(entry.value)) as LeaseHolder) : undefined;
  }
}

function encode(holder: LeaseHolder): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(holder));
}
