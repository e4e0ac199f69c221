import type { NatsConnection } from 'nats';
import { RESERVATIONS_BUCKET } from './subjects.js';
import { SequencedBucket } from './sequenced-bucket.js';
import { isLiveEntry } from './kv-entries.js';

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

/** One node's entries, and the stream's last sequence when they were read (what a write names). */
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
 * The placements in progress of every gateway, per node, in the KV bucket `reservations`
 * (`reservation.<host id>`, JSON LedgerEntry[]): a gateway deciding where a container goes counts
 * the others' too (apps/api shared-reservations.ts), and records its own decision only if the
 * bucket has not changed since it read it, so that two gateways deciding at once from the same view
 * cannot both take the last room on a node: the second write is refused and it decides again.
 *
 * "Has not changed" is the stream's last sequence (`Nats-Expected-Last-Sequence`), not the key's
 * revision (`Nats-Expected-Last-Subject-Sequence`, kv.update): nats-server before 2.9.21 checks the
 * latter for a clustered stream before proposing the write rather than as part of it, so two writes
 * of one key in flight at once both went through (nats-io/nats-server#4320; tools/nats-cas-race.ts:
 * 147 rounds of 200 through two of three servers), while the stream's sequence is checked against
 * the proposals in flight (0 of 200). Hence a bucket of its own (sequenced-bucket.ts): a write of
 * any key moves that sequence, so a write to another node's key refuses a decision too (it is read
 * and taken again).
 */
export class PlacementLedger {
  private readonly bucket: SequencedBucket;

  constructor(nc: NatsConnection) {
    this.bucket = new SequencedBucket(nc, RESERVATIONS_BUCKET);
  }

  /** Opens (makes, the first time) the bucket. */
  async open(): Promise<void> {
    await this.bucket.open();
  }

  /**
   * The entries (those still counted) of the nodes `hostIds`, each with the stream's last sequence
   * as read, which a write names (every read answered by the stream's leader; a node without a key
   * has no entries). The sequence is read first and the keys after it: a key written in between
   * (newer than that sequence) and the whole read is taken again (SequencedBucket.read), so the
   * entries are those of that sequence.
   */
  async read(hostIds: string[]): Promise<Map<string, LedgerNode>> {
    const { sequence, entries } = await this.bucket.read(hostIds.map(key));
    const now = Date.now();
    const nodes = new Map<string, LedgerNode>();
    for (const hostId of hostIds) {
      const entry = entries.get(key(hostId));
      const stored = entry && isLiveEntry(entry) ? current(JSON.parse(new TextDecoder().decode(entry.value)) as LedgerEntry[], now) : [];
      nodes.set(hostId, { entries: stored, revision: sequence });
    }
    return nodes;
  }

  /** Adds `entry` to `hostId`'s key if the bucket is still at `node`'s sequence. @returns false when it changed since (decide again). */
  async add(hostId: string, entry: LedgerEntry, node: LedgerNode | undefined): Promise<boolean> {
    if (!node) return false; // not read: decide again from a read that has it
    return this.write(hostId, [...current(node.entries, Date.now()), entry], node.revision);
  }

  /** Marks entry `id` of `hostId` done (its create ended, made or failed). */
  async finish(hostId: string, id: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const node = (await this.read([hostId])).get(hostId)!;
      if (!node.entries.some((e) => e.id === id)) return; // dropped already
      const now = Date.now();
      if (await this.write(hostId, node.entries.map((e) => (e.id === id ? { ...e, doneAt: now } : e)), node.revision)) return;
      if (attempt >= CHANGE_ATTEMPTS) throw new Error(`the placements in progress on ${hostId} kept changing (${attempt} attempts)`);
    }
  }

  /** Writes `hostId`'s entries if the bucket's stream is still at `revision`. @returns false when it is not. */
  private async write(hostId: string, entries: LedgerEntry[], revision: number): Promise<boolean> {
    return (await this.bucket.write(key(hostId), { value: new TextEncoder().encode(JSON.stringify(entries)) }, revision)) !== undefined;
  }
}

/** The entries still counted at `now`. */
function current(entries: LedgerEntry[], now: number): LedgerEntry[] {
  return entries.filter((e) => (e.doneAt !== undefined ? now - e.doneAt <= DONE_KEPT_MS : now - e.at <= ABANDONED_MS));
}
