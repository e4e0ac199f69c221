import { UnavailableError } from '@berth/errors';
import { type Announcement, type AnnouncementBucket, type AnnouncementRead, withDeadline } from '@berth/events';
import { untrustedReason } from './endpoint-check.js';
import type { Logger } from '@berth/log';

export interface ServiceDirectoryOptions<T extends Announcement> {
  /** Reads the bucket from NATS (AnnouncementBucket.read of HostRegistry, RegistryDirectory, BuilderDirectory). */
  list: () => Promise<AnnouncementRead<T>>;
  /** The bucket's TTL: how long an entry lives unrenewed. */
  ttlMs: number;
  /** The entry's id and the gRPC address it announces. */
  id: (entry: T) => string;
  address: (entry: T) => string;
  /** False while the NATS connection is down: the cache answers without asking. */
  connected: () => boolean;
  /** The error when no trusted entry shows up in time. */
  noneMessage: string;
  log: Logger;
  /** The gateway has the cluster's TLS client certificate: TCP addresses are trusted (endpoint-check.ts). */
  clusterTls?: boolean;
  /** How long a read list is reused. Default 1 s. */
  freshMs?: number;
  /** Deadline of one read from NATS. Default 2 s. */
  timeoutMs?: number;
}

/**
 * The gateway's memory of a NATS KV directory (the hosts, the registries, the builders): read at most every
 * `freshMs`, each read with a deadline, and the last list kept while NATS is down or slow, so a
 * `ps` or `run` never waits for NATS (it is for discovery; the calls go to the services directly).
 * Entries whose address is not a root-owned unix socket (or, with the cluster's TLS, a TCP address)
 * are ignored (endpoint-check.ts), with a log line the first time.
 *
 * An entry that vanishes from NATS without being withdrawn (no delete marker where it was) is
 * served until it would have lapsed, a TTL after its last renewal was first read: a memory bucket
 * loses what it holds when its nats-server restarts, and nats-server 2.9.10 lost a bucket's entries
 * when its stream was given 3 replicas; the agents write theirs again within TTL / 3. Without this,
 * for those seconds a call naming a container on that host said "No such container". A service
 * that withdraws (its entry deleted: the marker stays) or turns unusable is gone at once.
 */
export class ServiceDirectory<T extends Announcement> {
  private cache?: { entries: T[]; at: number };
  private reading?: Promise<AnnouncementRead<T>>;
  private readonly warned = new Set<string>();
  private natsWarned = false;
  /** When a read last failed: for a few seconds after, the cache answers without trying again. */
  private failedAt = 0;
  /** The entries read so far, by key: each with its revision and when that revision was first read. */
  private readonly known = new Map<string, { value: T; revision: number; seenAt: number }>();
  /** Keys of vanished entries served still, each told once. */
  private readonly vanished = new Set<string>();

  constructor(private readonly options: ServiceDirectoryOptions<T>) {}

  /**
   * The directory of one announcement bucket (hosts, registries, builders): its usable entries, and
   * its kind's message when none is there.
   */
  static of<T extends Announcement>(
    bucket: AnnouncementBucket<T>,
    options: Omit<ServiceDirectoryOptions<T>, 'list' | 'ttlMs' | 'noneMessage'>,
  ): ServiceDirectory<T> {
    return new ServiceDirectory({ ...options, list: () => bucket.read(), ttlMs: bucket.kind.ttlMs, noneMessage: bucket.kind.noneMessage });
  }

  /**
   * The most recently started trusted entry (of those `where` accepts: the builder of one host),
   * waiting up to `waitMs` for one to appear. UnavailableError with `noneMessage` (the options'
   * by default) when none does.
   */
  async pick(waitMs: number, options: { where?: (entry: T) => boolean; noneMessage?: string } = {}): Promise<T> {
    const deadline = Date.now() + waitMs;
    const where = options.where ?? (() => true);
    for (;;) {
      const trusted = this.trusted((await this.entries()).filter(where));
      if (trusted.length > 0) return trusted.sort((a, b) => b.startedAt - a.startedAt)[0]!;
      if (Date.now() >= deadline) {
        const why = this.options.connected() ? '' : ' (NATS, where services announce themselves, is not reachable either)';
        throw new UnavailableError(`${options.noneMessage ?? this.options.noneMessage}${why}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Every trusted entry now (the live hosts), without waiting; [] when none. */
  async all(): Promise<T[]> {
    return this.trusted(await this.entries());
  }

  private trusted(entries: T[]): T[] {
    return entries.filter((entry) => {
      const reason = untrustedReason(this.options.address(entry), { clusterTls: this.options.clusterTls });
      if (reason === undefined) return true;
      const key = `${this.options.id(entry)} ${reason}`;
      if (!this.warned.has(key)) {
        this.warned.add(key);
        this.options.log.warn({ entry: this.options.id(entry), reason }, 'Ignoring an entry announced on NATS');
      }
      return false;
    });
  }

  /** The entries of `read`, and those that vanished from it without a trace and have not lapsed yet, by key. */
  private remember(read: AnnouncementRead<T>): T[] {
    const now = Date.now();
    const current = new Map<string, T>();
    for (const { key, revision, value } of read.entries) {
      if (this.known.get(key)?.revision !== revision) this.known.set(key, { value, revision, seenAt: now });
      current.set(key, value);
      this.vanished.delete(key);
    }
    for (const [key, entry] of this.known) {
      if (current.has(key)) continue;
      // Withdrawn (its marker is there), turned unusable, or lapsed: forgotten.
      if (read.keys.has(key) || now >= entry.seenAt + this.options.ttlMs) {
        this.known.delete(key);
        this.vanished.delete(key);
        continue;
      }
      if (!this.vanished.has(key)) this.options.log.warn({ entry: this.options.id(entry.value) }, 'An entry vanished from NATS without being withdrawn: serving it until it would have lapsed');
      this.vanished.add(key);
      current.set(key, entry.value);
    }
    return [...current].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, value]) => value);
  }

  private async entries(): Promise<T[]> {
    const { freshMs = 1_000, timeoutMs = 2_000 } = this.options;
    if (this.cache && Date.now() - this.cache.at < freshMs) return this.cache.entries;
    if (!this.options.connected() || Date.now() - this.failedAt < 5_000) return this.cache?.entries ?? [];
    this.reading ??= withDeadline(this.options.list(), timeoutMs, () => new Error(`no answer within ${timeoutMs / 1000} s`)).finally(
      () => (this.reading = undefined),
    );
    try {
      const entries = this.remember(await this.reading);
      this.cache = { entries, at: Date.now() };
      this.natsWarned = false;
      return entries;
    } catch (err) {
      if (!this.natsWarned) this.options.log.warn({ err }, 'Cannot read the service directory from NATS, using what was last read');
      this.natsWarned = true;
      this.failedAt = Date.now();
      return this.cache?.entries ?? [];
    }
  }
}
