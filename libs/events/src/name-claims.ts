import type { KvEntry, NatsConnection } from 'nats';
import { NAME_CLAIMS_BUCKET } from './subjects.js';
import { SequencedBucket } from './sequenced-bucket.js';
import { isLiveEntry } from './kv-entries.js';

/** A name claim older than this was left by a gateway that died during its create: it is taken over. */
export const NAME_CLAIM_STALE_MS = 5 * 60_000;

/** What a claim's key holds. */
interface NameClaim {
  by: string;
  /** When it was claimed (unix ms, the claimant's clock). */
  at: number;
}

// A container name may hold characters a NATS key may not ('..'): the key holds its base64url.
const claimKey = (name: string) => `name.${Buffer.from(name).toString('base64url')}`;

/**
 * The container names being created through any gateway, in the KV bucket `name-claims` (one key
 * per name, JSON {by, at}; apps/api cluster-containers.ts claims a name before its name check and
 * gives it back once the container exists or its create failed), so that two creates of one name
 * through two gateways at once give one container and one conflict.
 *
 * Written naming the bucket's stream's last sequence (sequenced-bucket.ts), not create-if-absent:
 * nats-server 2.9.10 let two `kv.create`s of one key both through on a NATS cluster of three
 * (nats-io/nats-server#4320); cluster-store.test.ts saw two gateways both claim one name (given
 * back after each round) in 3 to 8 rounds of 40. A claim: read the key; a live claim younger than
 * NAME_CLAIM_STALE_MS holds the name (undefined); none, a withdrawn one or a stale one: written
 * naming the sequence read; refused (anything written since, another name's claim too), read again.
 * Giving back: the key purged naming the sequence read, only while its last revision is the
 * claim's (a claim taken over as stale is not the old claimant's to remove). This process's claims
 * and give-backs take turns (a `compose up`'s replicas side by side would refuse one another).
 */
export class NameClaims {
  private readonly bucket: SequencedBucket;

  constructor(nc: NatsConnection) {
    this.bucket = new SequencedBucket(nc, NAME_CLAIMS_BUCKET);
  }

  /** Opens (makes, the first time) the bucket. */
  open(): Promise<void> {
    return this.bucket.open();
  }

  /** Claims `name` for `by`. @returns the call that gives it back, or undefined when another create holds it. */
  async claim(name: string, by: string): Promise<(() => Promise<void>) | undefined> {
    const key = claimKey(name);
    const value = new TextEncoder().encode(JSON.stringify({ by, at: Date.now() } satisfies NameClaim));
    const revision = await this.bucket.inTurn(() => this.bucket.change(key, (entry) => (isHeld(entry, Date.now()) ? undefined : { value })));
    if (revision === undefined) return undefined;
    return async () => {
      await this.bucket.inTurn(() => this.bucket.change(key, (entry) => (entry?.revision === revision ? { operation: 'PURGE' } : undefined)));
    };
  }
}

/** Whether `entry` is a claim that holds its name at `now` (live, not stale). */
function isHeld(entry: KvEntry | null, now: number): boolean {
  if (entry === null || !isLiveEntry(entry)) return false;
  const { at } = JSON.parse(new TextDecoder().decode(entry.value)) as NameClaim;
  return now - at < NAME_CLAIM_STALE_MS;
}
