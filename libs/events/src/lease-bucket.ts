import type { KvEntry, NatsConnection } from 'nats';
import { LEASES_BUCKET } from './subjects.js';
import { SequencedBucket } from './sequenced-bucket.js';
import { isLiveEntry } from './kv-entries.js';

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
 * taken by writing it when nobody holds it, kept by rewriting it while its last revision is the one
 * its holder wrote, lost when its holder stops rewriting it (the key lapses and the next `take`
 * succeeds) or gives it back (a delete marker, written only while the key is still the holder's).
 *
 * Every write names the bucket's stream's last sequence, read with the key (sequenced-bucket.ts):
 * not the key's revision (kv.create, kv.update), which nats-server 2.9.10 let two gateways both
 * pass on a NATS cluster of three (nats-io/nats-server#4320; lease-bucket.test.ts saw both take one
 * lease given back just before in 1 to 14 rounds of 200). A write refused because another key was
 * written meanwhile is read and tried again; a renewal is lost only when someone else wrote its key
 * (or it lapsed). A key that lapsed is gone but the stream's last sequence stays, so the take that
 * names it goes through.
 *
 * In memory, as the announcements: a lease lives one TTL and needs no disk, so a full data root
 * (where nats-server keeps its file store) cannot take it from its holder; a nats-server restart
 * loses it, and the next `take` succeeds. A bucket created by an older Berth on file is kept.
 */
export class LeaseBucket {
  private readonly bucket: SequencedBucket;

  constructor(nc: NatsConnection, ttlMs = LEASE_TTL_MS) {
    this.bucket = new SequencedBucket(nc, LEASES_BUCKET, { ttlMs, memory: true });
  }

  /** Takes `key` for `holder` when nobody holds it. @returns the lease, or undefined when someone else holds it. */
  async take(key: string, holder: LeaseHolder): Promise<HeldLease | undefined> {
    const revision = await this.bucket.change(key, (entry) => (isHeld(entry) ? undefined : { value: encode(holder) }));
    return revision === undefined ? undefined : { revision };
  }

  /** Renews a lease held at `lease.revision`. @returns its new revision, or undefined when it was lost (written by someone else since, or lapsed). */
  async renew(key: string, holder: LeaseHolder, lease: HeldLease): Promise<HeldLease | undefined> {
    const revision = await this.bucket.change(key, (entry) => (isHeld(entry) && entry.revision === lease.revision ? { value: encode(holder) } : undefined));
    return revision === undefined ? undefined : { revision };
  }

  /** Gives a lease back (only while it is still the one held at `lease.revision`): another may take it at once. */
  async release(key: string, lease: HeldLease): Promise<void> {
    await this.bucket.change(key, (entry) => (isHeld(entry) && entry.revision === lease.revision ? { operation: 'DEL' } : undefined));
  }

  /** Who holds `key` now, if anyone. */
  async holder(key: string): Promise<LeaseHolder | undefined> {
    const entry = (await this.bucket.read([key])).entries.get(key) ?? null;
    return isHeld(entry) ? (JSON.parse(new TextDecoder().decode(entry.value)) as LeaseHolder) : undefined;
  }
}

/** Whether a lease's key holds a holder (not lapsed, not given back). */
function isHeld(entry: KvEntry | null): entry is KvEntry {
  return entry !== null && isLiveEntry(entry);
}

function encode(holder: LeaseHolder): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(holder));
}
