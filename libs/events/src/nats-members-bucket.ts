import type { KV, NatsConnection } from 'nats';
import { NATS_MEMBERS_BUCKET } from './subjects.js';
import { streamReplicas } from './stream-replicas.js';

/**
 * The NATS cluster's membership in the KV bucket `nats-members`, one key (`members`): which
 * nats-servers the cluster has (their route addresses) and which users every server lets in (the
 * value is libs/platform nats-membership.ts's JSON; this module carries it as text). The first
 * host's gateway writes it when a host joins with a token or is removed (`node rm`); the agent of
 * every token-joined host watches it and rewrites its own nats-server's config from it (apps/runtime-agent
 * nats-config-watcher.ts). Only the gateway may write it (libs/events nats-permissions.ts).
 */
export const NATS_MEMBERS_KEY = 'members';

export class NatsMembersBucket {
  private kv?: KV;

  constructor(private readonly nc: NatsConnection) {}

  private async bucket(): Promise<KV> {
    // Leader reads only (allow_direct false): a replica that just joined may not have caught up.
    this.kv ??= await this.nc.jetstream().views.kv(NATS_MEMBERS_BUCKET, { history: 1, allow_direct: false, replicas: streamReplicas(this.nc) });
    return this.kv;
  }

  /** The membership's text, or undefined before the gateway wrote it. */
  async read(): Promise<string | undefined> {
    const entry = await (await this.bucket()).get(NATS_MEMBERS_KEY);
    return entry && entry.operation === 'PUT' && entry.value.length > 0 ? entry.string() : undefined;
  }

  /** Writes `text` unless it is what the bucket holds already. @returns whether it wrote. */
  async write(text: string): Promise<boolean> {
    if ((await this.read()) === text) return false;
    await (await this.bucket()).put(NATS_MEMBERS_KEY, text);
    return true;
  }

  /**
   * Calls `onValue` with the membership's text now (when there is one) and at every change, until
   * the returned function is called. A watch lost with NATS is made again by the caller (it rejects
   * `ended` then).
   */
  async watch(onValue: (text: string) => void): Promise<{ stop: () => void; ended: Promise<void> }> {
    const watcher = await (await this.bucket()).watch({ key: NATS_MEMBERS_KEY });
    const ended = (async () => {
      for await (const entry of watcher) {
        if (entry.operation === 'PUT' && entry.value.length > 0) onValue(entry.string());
      }
    })();
    return { stop: () => watcher.stop(), ended };
  }
}
