import type { NatsConnection } from 'nats';
import { UnavailableError } from '@berth/errors';
import { PlatformBucket } from './platform-bucket.js';

/** How long a service's first announcement is asked again while JetStream cannot answer (see `#announceFirst`). */
const FIRST_ANNOUNCE_MS = 30_000;

/** What every announcement carries: when its service started (the newest one is picked first). */
export interface Announcement {
  startedAt: number;
}

/**
 * One read of an announcement bucket: its usable entries, each with its key and revision (a renewal
 * makes a new one), and every key the bucket holds now. A key withdrawn by its service is among
 * `keys` (its delete marker); one lost by nats-server is not.
 */
export interface AnnouncementRead<T extends Announcement> {
  entries: Array<{ key: string; revision: number; value: T }>;
  keys: Set<string>;
}

/** What sets one kind of announcement apart: its bucket, TTL, message and key. */
export interface AnnouncementKind<T extends Announcement> {
  /** The KV bucket (named in subjects.ts). */
  bucket: string;
  /** How long an entry lives unrenewed: a service that has not renewed it for this long is gone. */
  ttlMs: number;
  /** The entry's proto message (a ts-proto message object: `AgentAnnouncement`, …). */
  codec: { encode(message: T): { finish(): Uint8Array }; decode(bytes: Uint8Array): T };
  /** The entry's key (a NATS KV key: `[-/_=.a-zA-Z0-9]+`); the service's NATS permissions allow only its own. */
  key: (announcement: T) => string;
  /** Whether `first` may return the entry (default: every entry). */
  usable?: (announcement: T) => boolean;
  /** The UnavailableError's message when `first` finds no usable entry in time. */
  noneMessage: string;
  /** How long one JetStream request (a renewal, a read) waits for NATS; nats.js's 5 s unless given. */
  requestTimeoutMs?: number;
}

export interface KeepAnnouncedOptions {
  /**
   * Told when a renewal fails (NATS away), once per run of failures, and when the withdrawal at the
   * end fails. The service keeps running: it renews again every TTL / 3.
   */
  onError?: (err: unknown) => void;
}

/**
 * A NATS KV bucket where each platform service of one kind keeps its announcement (address,
 * version, start time), renewed every TTL / 3 so that a dead service's entry expires. One kind per
 * bucket: `hosts` (runtime agents, host-registry.ts), `registries` (registry-directory.ts) and
 * `builders` (builder-directory.ts). Only the gateway reads them (NATS permissions), through its
 * cached, verified ServiceDirectory (apps/api).
 */
export class AnnouncementBucket<T extends Announcement> {
  /**
   * The bucket, created when missing. In memory: entries live one TTL, so they need no disk, and a
   * full data root (where nats-server keeps its file store) cannot stop their renewal, which would
   * make the gateway lose a running agent. A bucket created by an older Berth on file is kept.
   * After a failure it is looked up (or created) again by the next call: a restarted nats-server
   * has lost a bucket in memory, and the next renewal creates it.
   */
  private readonly bucket: PlatformBucket;

  constructor(
    nc: NatsConnection,
    readonly kind: AnnouncementKind<T>,
  ) {
    this.bucket = new PlatformBucket(nc, kind.bucket, {
      ttlMs: kind.ttlMs,
      memory: true,
      ...(kind.requestTimeoutMs ? { requestTimeoutMs: kind.requestTimeoutMs } : {}),
    });
  }

  /** Writes (or renews) the entry of `announcement`. */
  async announce(announcement: T): Promise<void> {
    await this.bucket.use((kv) => kv.put(this.kind.key(announcement), this.kind.codec.encode(announcement).finish()));
  }

  /**
   * Announces now (rejecting when that fails), then renews the entry every TTL / 3 until the
   * returned function is called, which stops the renewal and removes the entry (so the gateway
   * stops forwarding to this service at once). That function never rejects: a failed withdrawal
   * goes to `onError`, and the entry expires by itself.
   */
  async keepAnnounced(announcement: T, options: KeepAnnouncedOptions = {}): Promise<() => Promise<void>> {
    const onError = options.onError ?? (() => undefined);
    await this.#announceFirst(announcement);
    let renewing: Promise<void> | undefined;
    let failing = false;
    const renew = () => {
      // One renewal at a time: while NATS is away a put may take its whole timeout.
      renewing ??= this.announce(announcement)
        .then(
          () => void (failing = false),
          (err) => {
            if (!failing) onError(err);
            failing = true;
          },
        )
        .finally(() => (renewing = undefined));
    };
    const timer = setInterval(renew, this.kind.ttlMs / 3);
    timer.unref();
    return async () => {
      clearInterval(timer);
      await renewing;
      await this.withdraw(this.kind.key(announcement)).catch(onError);
    };
  }

  /**
   * The first announcement, asked again while JetStream has no one to answer ("503", no responders)
   * or does not answer in time, for up to FIRST_ANNOUNCE_MS: in a NATS cluster a host joining moves
   * the streams' replicas and their leaders are elected anew for a moment (a joining host's builder
   * once died at start so, and the cluster's set-up with it). Any other failure rejects at once.
   */
  async #announceFirst(announcement: T): Promise<void> {
    const deadline = Date.now() + FIRST_ANNOUNCE_MS;
    for (;;) {
      try {
        return await this.announce(announcement);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if ((code !== '503' && code !== 'TIMEOUT') || Date.now() > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  async withdraw(key: string): Promise<void> {
    await this.bucket.use((kv) => kv.delete(key));
  }

  /** Every live entry. */
  async list(): Promise<T[]> {
    return (await this.bucket.entries()).map((entry) => this.kind.codec.decode(entry.value));
  }

  /** The usable entries with their keys and revisions, and every key the bucket holds (AnnouncementRead). */
  async read(): Promise<AnnouncementRead<T>> {
    const { live, keys } = await this.bucket.read();
    const entries = live.map((entry) => ({ key: entry.key, revision: entry.revision, value: this.kind.codec.decode(entry.value) }));
    return { entries: this.kind.usable ? entries.filter((e) => this.kind.usable!(e.value)) : entries, keys };
  }

  /** The live entries the kind calls usable (all of them unless it says otherwise). */
  async usable(): Promise<T[]> {
    const entries = await this.list();
    return this.kind.usable ? entries.filter(this.kind.usable) : entries;
  }

  /**
   * Waits (up to timeoutMs) for a usable entry and returns the most recently started one.
   * UnavailableError with the kind's `noneMessage` when none shows up in time.
   */
  async first(timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const entries = await this.usable();
      if (entries.length > 0) return entries.sort((a, b) => b.startedAt - a.startedAt)[0]!;
      if (Date.now() > deadline) throw new UnavailableError(this.kind.noneMessage);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
