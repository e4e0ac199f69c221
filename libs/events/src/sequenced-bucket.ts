import { headers, JsHeaders, type JetStreamClient, type KvEntry, type NatsConnection } from 'nats';
import { kvSubject } from './subjects.js';
import { PlatformBucket, type PlatformBucketOptions } from './platform-bucket.js';
import { isWrongRevision } from './kv-entries.js';
import { Turns } from './turns.js';

/** What a read gives: the stream's last sequence, and each key's last entry as of it. */
export interface SequencedRead {
  /** The bucket's stream's last sequence when the keys were read: what a write names. */
  sequence: number;
  /** Each key's last entry (a delete or purge marker included); null when the bucket holds none. */
  entries: Map<string, KvEntry | null>;
}

/** A write: a value (`PUT`), or a delete or purge marker (the value empty). */
export interface SequencedWrite {
  value?: Uint8Array;
  operation?: 'PUT' | 'DEL' | 'PURGE';
}

/** Reads taken again when a key changed between the stream's last sequence and the key's get. */
const READ_ATTEMPTS = 20;
/** Changes (change()) read and decided again after a refused write before giving up. */
const CHANGE_ATTEMPTS = 20;

/**
 * A platform KV bucket whose writes are checked against the stream's last sequence
 * (`Nats-Expected-Last-Sequence`), not against the key's revision (`Nats-Expected-Last-Subject-Sequence`,
 * what kv.create and kv.update send): nats-server before 2.9.21 checks the latter for a clustered
 * stream before proposing the write rather than as part of it, so two writes of one key in flight at
 * once both went through (nats-io/nats-server#4320; tools/nats-cas-race.ts: 147 rounds of 200
 * through two of three servers), while the stream's sequence is checked against the proposals in
 * flight (0 of 200). So the bucket holds only keys that must be serialized: a write of any key
 * moves that sequence, and refuses every write that named the one before (it is read and written
 * again: change()).
 *
 * A read takes the sequence first and the keys after it (read again when a key is newer than it);
 * a write names it, and is refused when anything was written to the bucket since. Expiry (a TTL
 * bucket's max age) removes messages but never moves the last sequence back, so a key that lapsed
 * reads as missing and a write naming the sequence read then goes through. An expected last
 * sequence of 0 (a stream with no message yet) is checked too, clustered or not (nats-server 2.9.10).
 *
 * One process's writes refuse one another just as another process's do: its callers take turns
 * (inTurn), else its own changes side by side would starve one another.
 */
export class SequencedBucket {
  private readonly bucket: PlatformBucket;
  private readonly js: JetStreamClient;
  private readonly turns = new Turns();

  constructor(
    nc: NatsConnection,
    readonly name: string,
    options: PlatformBucketOptions = {},
  ) {
    this.bucket = new PlatformBucket(nc, name, options);
    this.js = nc.jetstream(options.requestTimeoutMs !== undefined ? { timeout: options.requestTimeoutMs } : {});
  }

  /** Opens (makes, the first time) the bucket. */
  async open(): Promise<void> {
    await this.bucket.open();
  }

  /**
   * The last entries of `keys` and the stream's last sequence they are those of (every read answered
   * by the stream's leader): the sequence read first, the keys after; a key written in between
   * (newer than the sequence) and the whole read is taken again. Out of attempts: the last read (a
   * write naming its sequence is refused anyway).
   */
  async read(keys: string[]): Promise<SequencedRead> {
    return this.bucket.use(async (kv) => {
      for (let attempt = 1; ; attempt++) {
        const sequence = (await kv.status()).streamInfo.state.last_seq;
        const entries = new Map<string, KvEntry | null>();
        let newer = false;
        await Promise.all(
          [...new Set(keys)].map(async (key) => {
            const entry = await kv.get(key);
            if (entry && entry.revision > sequence) newer = true;
            entries.set(key, entry);
          }),
        );
        if (!newer || attempt >= READ_ATTEMPTS) return { sequence, entries };
      }
    });
  }

  /**
   * Writes `key` if the bucket's stream is still at `sequence`. @returns the write's sequence (the
   * key's new revision), or undefined when it was refused (something was written since).
   */
  async write(key: string, write: SequencedWrite, sequence: number): Promise<number | undefined> {
    const h = headers();
    const operation = write.operation ?? 'PUT';
    if (operation !== 'PUT') h.set('KV-Operation', operation);
    if (operation === 'PURGE') h.set(JsHeaders.RollupHdr, JsHeaders.RollupValueSubject);
    // The bucket opened first (its stream exists before the first write), and again after a failure
    // (a memory bucket is gone once its nats-server restarts), but not after a refusal.
    return this.bucket.use(async () => {
      try {
        return (await this.js.publish(kvSubject(this.name, key), write.value ?? new Uint8Array(), { headers: h, expect: { lastSequence: sequence } })).seq;
      } catch (err) {
        if (isWrongRevision(err)) return undefined;
        throw err;
      }
    });
  }

  /**
   * Reads `key`, and writes what `decide` makes of its last entry (null: none) naming the sequence
   * read; refused (anything written to the bucket since, this key or another), read and decided
   * again. @returns the write's sequence, or undefined when `decide` wrote nothing. Throws after
   * CHANGE_ATTEMPTS refusals. Not in turn by itself: callers that change keys side by side use inTurn.
   */
  async change(key: string, decide: (entry: KvEntry | null) => SequencedWrite | undefined): Promise<number | undefined> {
    for (let attempt = 1; ; attempt++) {
      const { sequence, entries } = await this.read([key]);
      const write = decide(entries.get(key) ?? null);
      if (write === undefined) return undefined;
      const written = await this.write(key, write, sequence);
      if (written !== undefined) return written;
      if (attempt >= CHANGE_ATTEMPTS) throw new Error(`the KV bucket "${this.name}" kept changing while ${key} was written (${attempt} attempts)`);
    }
  }

  /** Runs `fn` once this process's previous turn on the bucket has ended (made or failed). */
  inTurn<R>(fn: () => Promise<R>): Promise<R> {
    return this.turns.run(fn);
  }
}
