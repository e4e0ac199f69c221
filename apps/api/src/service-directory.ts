import { UnavailableError } from '@berth/errors';
import { type Announcement, type AnnouncementBucket, withDeadline } from '@berth/events';
import { untrustedReason } from './endpoint-check.js';
import type { Logger } from '@berth/log';

export interface ServiceDirectoryOptions<T extends Announcement> {
  /** Reads every entry from NATS (HostRegistry.list, RegistryDirectory.list, BuilderDirectory.list). */
  list: () => Promise<T[]>;
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
  /**
   * How long entries that all vanished at once from a read are still served (several before, none
   * now): the bucket's TTL. Default 15 s.
   */
  vanishedGraceMs?: number;
}

/**
 * The gateway's memory of a NATS KV directory (the hosts, the registries, the builders): read at most every
 * `freshMs`, each read with a deadline, and the last list kept while NATS is down or slow, so a
 * `ps` or `run` never waits for NATS (it is for discovery; the calls go to the services directly).
 * Entries whose address is not a root-owned unix socket (or, with the cluster's TLS, a TCP address)
 * are ignored (endpoint-check.ts), with a log line the first time.
 */
export class ServiceDirectory<T extends Announcement> {
  private cache?: { entries: T[]; at: number };
  private reading?: Promise<T[]>;
  private readonly warned = new Set<string>();
  private natsWarned = false;
  /** When a read last failed: for a few seconds after, the cache answers without trying again. */
  private failedAt = 0;
  /** When a read last listed entries. */
  private listedAt = 0;
  private vanishedWarned = false;

  constructor(private readonly options: ServiceDirectoryOptions<T>) {}

  /**
   * The directory of one announcement bucket (hosts, registries, builders): its usable entries, and
   * its kind's message when none is there.
   */
  static of<T extends Announcement>(
    bucket: AnnouncementBucket<T>,
    options: Omit<ServiceDirectoryOptions<T>, 'list' | 'noneMessage'>,
  ): ServiceDirectory<T> {
    return new ServiceDirectory({ ...options, list: () => bucket.usable(), noneMessage: bucket.kind.noneMessage });
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

  private async entries(): Promise<T[]> {
    const { freshMs = 1_000, timeoutMs = 2_000 } = this.options;
    if (this.cache && Date.now() - this.cache.at < freshMs) return this.cache.entries;
    if (!this.options.connected() || Date.now() - this.failedAt < 5_000) return this.cache?.entries ?? [];
    this.reading ??= withDeadline(this.options.list(), timeoutMs, () => new Error(`no answer within ${timeoutMs / 1000} s`)).finally(
      () => (this.reading = undefined),
    );
    try {
      const entries = await this.reading;
      // Every entry gone at once, of several: nats-server 2.9.10 lost a memory bucket's entries
      // when its stream was given 3 replicas (the agents write theirs again within TTL / 3); the
      // last list is served until the entries would have lapsed, the directory read again each
      // time. One agent of a cluster withdrawing, or the only one, is seen at once.
      if (entries.length === 0 && (this.cache?.entries.length ?? 0) >= 2 && Date.now() - this.listedAt < (this.options.vanishedGraceMs ?? 15_000)) {
        if (!this.vanishedWarned) this.options.log.warn({ entries: this.cache!.entries.length }, 'Every entry vanished at once from NATS: serving the last ones read until they would have lapsed');
        this.vanishedWarned = true;
        return this.cache!.entries;
      }
      this.vanishedWarned = false;
      if (entries.length > 0) this.listedAt = Date.now();
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
