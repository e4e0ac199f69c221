import type { NatsConnection } from 'nats';
import { CLUSTER_BUCKET } from './subjects.js';
import { PlatformBucket } from './platform-bucket.js';
import { isLiveEntry } from './kv-entries.js';
import { isWrongRevision } from './lease-bucket.js';

/** A container being placed on a node by some gateway: what it reserves there until its create ends. */
export interface LedgerEntry {
  /** Unique per placement. */
  id: string;
  /** The gateway placing it. */
  by: string;
  /** `project/service` of a Compose service's container, else ''. */
  service: string;
  memoryBytes: number;
  nanoCpus: number;
  /** When the decision was made (unix ms). */
  at: number;
  /** When its create ended (unix ms): it then counts only for decisions whose lists were read before. */
  doneAt?: number;
}

/** One node's entries, and the revision of its key (0: no key yet). */
export interface LedgerNode {
  entries: LedgerEntry[];
  revision: number;
}

/** An entry whose create ended longer ago than this is dropped (every list shows its container by then). */
const DONE_KEPT_MS = 60_000;
/** An entry never ended after this long was left by a gateway that died mid-create: dropped. */
const ABANDONED_MS = 5 * 60_000;
const CHANGE_ATTEMPTS = 20;

const key = (hostId: string) => `reservation.${hostId}`;

/**
 * The placements in progress of every gateway, per node, in the KV bucket `cluster`
 * (`reservation.<host id>`, JSON LedgerEntry[]): a gateway deciding where a container goes counts
 * the others' too (apps/api placement-reservations.ts), and records its own decision revision-checked
 * against the node's key as it read it, so that two gateways deciding at once from the same view
 * cannot both take the last room on a node: the second write is refused and it decides again.
 */
export class PlacementLedger {
  private readonly bucket: PlatformBucket;

  constructor(nc: NatsConnection) {
    this.bucket = new PlatformBucket(nc, CLUSTER_BUCKET);
  }

  /** The entries (those still counted) of the nodes `hostIds`, with the revision to name when adding one (direct gets). */
  async read(hostIds: string[]): Promise<Map<string, LedgerNode>> {
    const kv = await this.bucket.open();
    const now = Date.now();
    const nodes = new Map<string, LedgerNode>();
    await Promise.all(
      hostIds.map(async (hostId) => {
        const entry = await kv.get(key(hostId));
        if (entry && isLiveEntry(entry)) nodes.set(hostId, { entries: current(JSON.parse(new TextDecoder().decode(entry.value)) as LedgerEntry[], now), revision: entry.revision });
        // A key deleted or purged: its revision is what a create must follow (nats.js create handles it).
      }),
    );
    return nodes;
  }

  /** Adds `entry` to `hostId`'s key if it is still at `revision`. @returns false when another gateway wrote it since (decide again). */
  async add(hostId: string, entry: LedgerEntry, node: LedgerNode | undefined): Promise<boolean> {
    const kv = await this.bucket.open();
    const value = new TextEncoder().encode(JSON.stringify([...current(node?.entries ?? [], Date.now()), entry]));
    try {
      if (!node || node.revision === 0) await kv.create(key(hostId), value);
      else await kv.update(key(hostId), value, node.revision);
      return true;
    } catch (err) {
      if (isWrongRevision(err)) return false;
      throw err;
    }
  }

  /** Marks entry `id` of `hostId` done (its create ended, made or failed). */
  async finish(hostId: string, id: string): Promise<void> {
    const kv = await this.bucket.open();
    for (let attempt = 1; ; attempt++) {
      const stored = await kv.get(key(hostId));
      if (!stored || !isLiveEntry(stored)) return;
      const now = Date.now();
      const entries = current(JSON.parse(new TextDecoder().decode(stored.value)) as LedgerEntry[], now).map((e) => (e.id === id ? { ...e, doneAt: now } : e));
      try {
        await kv.update(key(hostId), new TextEncoder().encode(JSON.stringify(entries)), stored.revision);
        return;
      } catch (err) {
        if (!isWrongRevision(err) || attempt >= CHANGE_ATTEMPTS) throw err;
      }
    }
  }
}

/** The entries still counted at `now`. */
function current(entries: LedgerEntry[], now: number): LedgerEntry[] {
  return entries.filter((e) => (e.doneAt !== undefined ? now - e.doneAt <= DONE_KEPT_MS : now - e.at <= ABANDONED_MS));
}
