import type { KV, NatsConnection } from 'nats';
import { UnavailableError } from '@berth/errors';
import { AgentAnnouncement } from '@berth/proto';
import { HOSTS_BUCKET } from './subjects.js';

/** TTL of a host's entry: an agent that has not renewed it for this long is gone. */
export const HOST_TTL_MS = 15_000;

/**
 * The hosts of the platform: each runtime agent keeps its announcement in the KV bucket `hosts`
 * (renewed every HOST_TTL_MS / 3); the gateway reads it to find the agent of a host.
 */
export class HostRegistry {
  private kv?: KV;

  constructor(private readonly nc: NatsConnection) {}

  private async bucket(): Promise<KV> {
    this.kv ??= await this.nc.jetstream().views.kv(HOSTS_BUCKET, { ttl: HOST_TTL_MS, history: 1 });
    return this.kv;
  }

  async announce(announcement: AgentAnnouncement): Promise<void> {
    const kv = await this.bucket();
    await kv.put(announcement.hostId, AgentAnnouncement.encode(announcement).finish());
  }

  async withdraw(hostId: string): Promise<void> {
    const kv = await this.bucket();
    await kv.delete(hostId);
  }

  async list(): Promise<AgentAnnouncement[]> {
    const kv = await this.bucket();
    const hosts: AgentAnnouncement[] = [];
    // Read every key first: a kv.get() while the keys() iterator is open ends that iterator early.
    const keys: string[] = [];
    for await (const key of await kv.keys()) keys.push(key);
    for (const key of keys) {
      const entry = await kv.get(key);
      if (entry && entry.operation === 'PUT' && entry.value.length > 0) hosts.push(AgentAnnouncement.decode(entry.value));
    }
    return hosts;
  }

  /** Waits (up to timeoutMs) for at least one host and returns the first (single-host placement). */
  async first(timeoutMs = 10_000): Promise<AgentAnnouncement> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hosts = await this.list();
      if (hosts.length > 0) return hosts.sort((a, b) => b.startedAt - a.startedAt)[0]!;
      if (Date.now() > deadline) throw new UnavailableError('No runtime agent is running: start the platform with `berth platform up`');
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
