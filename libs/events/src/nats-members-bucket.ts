import type { NatsConnection } from 'nats';
import { PlatformBucket } from './platform-bucket.js';
import { NATS_MEMBERS_BUCKET } from './subjects.js';

/**
 * The NATS cluster's membership in the KV bucket `nats-members`, one key (`members`): which
 * nats-servers the cluster has (their route addresses) and which users every server lets in (the
 * value is libs/platform nats-membership.ts's JSON; this module carries it as text). The first
 * host's gateway writes it when a host joins with a token or is removed (`node rm`); the agent of
 * every token-joined host watches it and rewrites its own nats-server's config from it (apps/runtime-agent
 * nats-config-watcher.ts). Only the gateway may write it (libs/events nats-permissions.ts).
 */
export const NATS_MEMBERS_KEY = 'members';

/** One value of the membership: its text and its revision (the KV entry's sequence in the bucket's stream). */
export interface NatsMembersRecord {
  text: string;
  revision: number;
}

export class NatsMembersBucket {
  private readonly bucket: PlatformBucket;

  constructor(nc: NatsConnection) {
    this.bucket = new PlatformBucket(nc, NATS_MEMBERS_BUCKET);
  }

  /** The membership's text, or undefined before the gateway wrote it. */
  async read(): Promise<string | undefined> {
    return (await this.record())?.text;
  }

  /** The membership's text and revision, read from the stream's leader; undefined before the gateway wrote it. */
  async record(): Promise<NatsMembersRecord | undefined> {
    const entry = await this.bucket.use((kv) => kv.get(NATS_MEMBERS_KEY));
    return entry && entry.operation === 'PUT' && entry.value.length > 0 ? { text: entry.string(), revision: entry.revision } : undefined;
  }

  /** Writes `text` unless it is what the bucket holds already. @returns whether it wrote. */
  async write(text: string): Promise<boolean> {
    if ((await this.read()) === text) return false;
    await this.bucket.use((kv) => kv.put(NATS_MEMBERS_KEY, text));
    return true;
  }

  /**
   * Calls `onValue` with the membership now (when there is one) and at every change, until the
   * returned function is called. A watch lost with NATS is made again by the caller (it rejects
   * `ended` then). A watch can also go silent for a while without ending: its consumer (ephemeral,
   * one replica) lived on a nats-server that died, and nats.js makes it again only after two missed
   * heartbeats (10 to 15 s) and once JetStream answers; a caller that must not wait that long reads
   * `record()` too (apps/runtime-agent nats-config-watcher.ts).
   */
  async watch(onValue: (record: NatsMembersRecord) => void): Promise<{ stop: () => void; ended: Promise<void> }> {
    const watcher = await this.bucket.use((kv) => kv.watch({ key: NATS_MEMBERS_KEY }));
    const ended = (async () => {
      for await (const entry of watcher) {
        if (entry.operation === 'PUT' && entry.value.length > 0) onValue({ text: entry.string(), revision: entry.revision });
      }
    })();
    return { stop: () => watcher.stop(), ended };
  }
}
