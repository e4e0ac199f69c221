import type { KV, KvEntry, NatsConnection } from 'nats';
import { openPlatformBucket } from './platform-bucket.js';
import { OVERLAY_BUCKET } from './subjects.js';

/**
 * The cluster's index of overlay endpoints (libs/network's OverlayDirectory, overlay-directory.ts)
 * on the NATS KV bucket `overlay`, in memory, every entry living TTL unless renewed:
 *
 *   host.<host id>                     {"hostId", "host"}: a live host and its underlay address
 *   ep.<network id>.<a-b-c-d>          one running container's endpoint (JSON OverlayEndpoint);
 *                                      the key is the address, so creating it claims the address
 *
 * Each agent writes its own entries and renews them every TTL / 3 (an update on the revision it
 * wrote, so an entry another host took over is never overwritten); a host that stops renewing
 * (down, killed, cut off) loses them after TTL, which frees its addresses and takes its
 * containers out of every other host's FDB and DNS. Each agent watches the whole bucket; JetStream
 * does not tell watchers about entries that age out, so each watcher ages them itself by the
 * time they were written.
 */

/** One endpoint in the bucket (libs/network's OverlayEndpoint is this type). */
export interface OverlayEndpointEntry {
  networkId: string;
  ip: string;
  mac: string;
  containerId: string;
  containerName: string;
  aliases: string[];
  host: string;
  hostId: string;
}

export interface OverlayHostsView {
  hosts: string[];
  endpoints: OverlayEndpointEntry[];
}

export interface OverlayEndpointBucketOptions {
  /** How long an entry lives unrenewed; 15 s (the `hosts` bucket's) unless given. */
  ttlMs?: number;
  /** Told when a renewal or a watch fails (NATS away); the bucket keeps trying. */
  onError?: (err: unknown) => void;
}

const defaultTtlMs = 15_000;

interface Owned {
  value: Uint8Array;
  revision: number;
}

interface Seen {
  value: OverlayEndpointEntry | { hostId: string; host: string };
  writtenAt: number;
}

export function overlayEndpointKey(networkId: string, ip: string): string {
  return `ep.${networkId}.${ip.replace(/\./g, '-')}`;
}

export class OverlayEndpointBucket {
  private kv?: KV;
  private readonly ttlMs: number;
  private readonly owned = new Map<string, Owned>();
  private readonly seen = new Map<string, Seen>();
  private renewTimer?: NodeJS.Timeout;
  private renewing?: Promise<void>;

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: OverlayEndpointBucketOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? defaultTtlMs;
  }

  private async bucket(): Promise<KV> {
    this.kv ??= await openPlatformBucket(this.nc, OVERLAY_BUCKET, { ttlMs: this.ttlMs, memory: true, single: true });
    return this.kv;
  }

  /** Publishes the endpoint (claims its address): false when another container holds the address. */
  async claim(endpoint: OverlayEndpointEntry): Promise<boolean> {
    const kv = await this.bucket();
    const key = overlayEndpointKey(endpoint.networkId, endpoint.ip);
    const value = new TextEncoder().encode(JSON.stringify(endpoint));
    try {
      this.owned.set(key, { value, revision: await kv.create(key, value) });
      return true;
    } catch {
      // Taken: by this very container (an agent restart publishing again) it is still ours.
      const entry = await kv.get(key);
      if (entry && entry.operation === 'PUT' && entry.value.length > 0) {
        const holder = JSON.parse(new TextDecoder().decode(entry.value)) as OverlayEndpointEntry;
        if (holder.containerId !== endpoint.containerId) return false;
        this.owned.set(key, { value, revision: await kv.update(key, value, entry.revision) });
        return true;
      }
      // Deleted between the create and the get: try once more.
      try {
        this.owned.set(key, { value, revision: await kv.create(key, value) });
        return true;
      } catch {
        return false;
      }
    }
  }

  /** Withdraws this host's endpoint of `ip` on the network; an address this host does not hold is left alone. */
  async release(networkId: string, ip: string): Promise<void> {
    const key = overlayEndpointKey(networkId, ip);
    const mine = this.owned.get(key);
    if (!mine) return;
    this.owned.delete(key);
    await (await this.bucket()).delete(key, { previousSeq: mine.revision });
  }

  /**
   * Announces this host, renews its entries every TTL / 3, and calls `onView` with the live view
   * (hosts written within TTL, their endpoints) now and whenever it changes. The returned function
   * stops all that (the entries then lapse after TTL).
   */
  async watch(self: { hostId: string; host: string }, onView: (view: OverlayHostsView) => void): Promise<() => Promise<void>> {
    const kv = await this.bucket();
    const hostKey = `host.${self.hostId}`;
    const value = new TextEncoder().encode(JSON.stringify(self));
    this.owned.set(hostKey, { value, revision: await kv.put(hostKey, value) });
    this.renewTimer = setInterval(() => (this.renewing ??= this.renew().finally(() => (this.renewing = undefined))), this.ttlMs / 3);
    this.renewTimer.unref();

    let last = '';
    const emit = () => {
      const view = this.view();
      const text = JSON.stringify(view);
      if (text === last) return;
      last = text;
      onView(view);
    };
    const iterator = await kv.watch({ key: '>' });
    const reading = (async () => {
      for await (const entry of iterator) {
        this.record(entry);
        emit();
      }
    })().catch((err) => this.options.onError?.(err));
    // Entries age out without a word from JetStream: look again every second.
    const ageTimer = setInterval(emit, 1_000);
    ageTimer.unref();
    emit();
    return async () => {
      clearInterval(ageTimer);
      clearInterval(this.renewTimer);
      iterator.stop();
      await reading;
      await this.renewing;
    };
  }

  private record(entry: KvEntry): void {
    if (entry.operation !== 'PUT' || entry.value.length === 0) {
      this.seen.delete(entry.key);
      return;
    }
    try {
      this.seen.set(entry.key, { value: JSON.parse(new TextDecoder().decode(entry.value)) as Seen['value'], writtenAt: entry.created.getTime() });
    } catch {
      this.seen.delete(entry.key); // not JSON: not an entry of this format
    }
  }

  private view(): OverlayHostsView {
    const now = Date.now();
    const live = [...this.seen].filter(([, s]) => now - s.writtenAt < this.ttlMs);
    const hosts = new Map<string, string>();
    for (const [key, s] of live) if (key.startsWith('host.')) hosts.set(s.value.hostId, s.value.host);
    const endpoints = live
      .filter(([key, s]) => key.startsWith('ep.') && hosts.has(s.value.hostId))
      .map(([, s]) => s.value as OverlayEndpointEntry)
      .sort((a, b) => a.networkId.localeCompare(b.networkId) || a.ip.localeCompare(b.ip));
    return { hosts: [...new Set(hosts.values())].sort(), endpoints };
  }

  /** Writes every entry of this host again, on the revision it wrote last. */
  private async renew(): Promise<void> {
    let kv: KV;
    try {
      kv = await this.bucket();
    } catch (err) {
      this.options.onError?.(err);
      return;
    }
    let failed = false;
    for (const [key, mine] of [...this.owned]) {
      try {
        mine.revision = key.startsWith('host.') ? await kv.put(key, mine.value) : await kv.update(key, mine.value, mine.revision);
      } catch (err) {
        // Lapsed (NATS was away longer than the TTL) and maybe taken: create it again if free.
        try {
          mine.revision = await kv.create(key, mine.value);
        } catch {
          failed = true;
          this.options.onError?.(err);
          // Taken by another container meanwhile: not ours any more. NATS away: kept, tried again.
          const holder = await kv.get(key).catch(() => null);
          if (holder && holder.operation === 'PUT' && holder.value.length > 0 && !sameBytes(holder.value, mine.value)) this.owned.delete(key);
        }
      }
    }
    // A restarted nats-server may have lost the bucket (it is in memory): look it up (or create it) again next time.
    if (failed) this.kv = undefined;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
