import type { KV, NatsConnection } from 'nats';
import { UnavailableError } from '@berth/errors';
import { BuilderAnnouncement } from '@berth/proto';
import { BUILDERS_BUCKET } from './subjects.js';

/** TTL of a builder's entry: a builder that has not renewed it for this long is gone. */
export const BUILDER_TTL_MS = 15_000;

/**
 * The image builders of the platform, one per host: each keeps its announcement (gRPC address) in
 * the KV bucket `builders` under its host's id, renewed every BUILDER_TTL_MS / 3; the gateway reads
 * it to forward a build to the builder of the host it picked.
 */
export class BuilderDirectory {
  private kv?: KV;

  constructor(private readonly nc: NatsConnection) {}

  private async bucket(): Promise<KV> {
    this.kv ??= await this.nc.jetstream().views.kv(BUILDERS_BUCKET, { ttl: BUILDER_TTL_MS, history: 1 });
    return this.kv;
  }

  async announce(announcement: BuilderAnnouncement): Promise<void> {
    const kv = await this.bucket();
    await kv.put(announcement.hostId, BuilderAnnouncement.encode(announcement).finish());
  }

  /**
   * Announces now, then renews the entry until the returned function is called, which stops the
   * renewal and removes the entry. `onError` hears about renewals that failed (NATS away).
   */
  async keepAnnounced(announcement: BuilderAnnouncement, onError: (err: unknown) => void = () => undefined): Promise<() => Promise<void>> {
    await this.announce(announcement);
    const timer = setInterval(() => void this.announce(announcement).catch(onError), BUILDER_TTL_MS / 3);
    timer.unref();
    return async () => {
      clearInterval(timer);
      await this.withdraw(announcement.hostId);
    };
  }

  async withdraw(hostId: string): Promise<void> {
    const kv = await this.bucket();
    await kv.delete(hostId);
  }

  /**
   * The builder of host `hostId`, waiting up to `timeoutMs` for it to announce itself.
   * UnavailableError when none does.
   */
  async get(hostId: string, timeoutMs = 5_000): Promise<BuilderAnnouncement> {
    const kv = await this.bucket();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const entry = await kv.get(hostId);
      if (entry && entry.operation === 'PUT' && entry.value.length > 0) return BuilderAnnouncement.decode(entry.value);
      if (Date.now() > deadline) {
        throw new UnavailableError(`No image builder is running on host "${hostId}": start it with \`berth platform up\``);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
