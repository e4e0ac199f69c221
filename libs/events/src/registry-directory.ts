import type { KV, NatsConnection } from 'nats';
import { UnavailableError } from '@berth/errors';
import { RegistryAnnouncement } from '@berth/proto';
import { REGISTRIES_BUCKET } from './subjects.js';

/** TTL of a registry's entry: a registry that has not renewed it for this long is gone. */
export const REGISTRY_TTL_MS = 15_000;

/**
 * The registries of the platform: each registry process keeps its announcement (HTTP URL, admin
 * gRPC address) in the KV bucket `registries`, renewed every REGISTRY_TTL_MS / 3 by `keepAnnounced`;
 * the gateway reads it to forward the Registry service, clients to find the registry's URL.
 */
export class RegistryDirectory {
  private kv?: KV;

  constructor(private readonly nc: NatsConnection) {}

  private async bucket(): Promise<KV> {
    this.kv ??= await this.nc.jetstream().views.kv(REGISTRIES_BUCKET, { ttl: REGISTRY_TTL_MS, history: 1 });
    return this.kv;
  }

  /** Writes (or renews) the entry of `announcement.id` (a NATS KV key: `[-/_=.a-zA-Z0-9]+`). */
  async announce(announcement: RegistryAnnouncement): Promise<void> {
    const kv = await this.bucket();
    await kv.put(announcement.id, RegistryAnnouncement.encode(announcement).finish());
  }

  /**
   * Announces now, then renews the entry until the returned function is called, which stops the
   * renewal and removes the entry (so the gateway stops forwarding to this registry at once).
   */
  async keepAnnounced(announcement: RegistryAnnouncement): Promise<() => Promise<void>> {
    await this.announce(announcement);
    const timer = setInterval(() => void this.announce(announcement).catch(() => {}), REGISTRY_TTL_MS / 3);
    timer.unref();
    return async () => {
      clearInterval(timer);
      await this.withdraw(announcement.id).catch(() => {});
    };
  }

  async withdraw(id: string): Promise<void> {
    const kv = await this.bucket();
    await kv.delete(id);
  }

  async list(): Promise<RegistryAnnouncement[]> {
    const kv = await this.bucket();
    // Keys first: awaiting a get() while iterating keys() ends the iteration early (nats.js).
    const keys: string[] = [];
    for await (const key of await kv.keys()) keys.push(key);
    const registries: RegistryAnnouncement[] = [];
    for (const key of keys) {
      const entry = await kv.get(key);
      if (entry && entry.operation === 'PUT' && entry.value.length > 0) registries.push(RegistryAnnouncement.decode(entry.value));
    }
    return registries;
  }

  /**
   * Waits (up to timeoutMs) for a registry with an admin address and returns the most recently
   * started one. UnavailableError when none announces itself in time.
   */
  async first(timeoutMs = 10_000): Promise<RegistryAnnouncement> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const registries = (await this.list()).filter((r) => r.grpcAddress !== '');
      if (registries.length > 0) return registries.sort((a, b) => b.startedAt - a.startedAt)[0]!;
      if (Date.now() > deadline) {
        throw new UnavailableError('No registry is running: start the platform with `berth platform up` (it runs one)');
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** A KV key for a registry id made from free text (host names, URLs): other characters become `_`. */
export function registryKey(text: string): string {
  return text.replace(/[^-/_=.a-zA-Z0-9]/g, '_');
}
