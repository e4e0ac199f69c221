import type { NatsConnection } from 'nats';
import { NatsMembersBucket, scaleStreams } from '@berth/events';
import { checkMembership, publishMembership, REPLICATED_SERVERS } from '@berth/platform';
import type { Logger } from '@berth/log';
import type { Leadership } from './gateway-lease.js';

/** How often the keeper looks whether the streams need more replicas. */
const CHECK_MS = 3_000;

/**
 * The gateway's part in a NATS cluster that hosts join with a token (docs/dev/cluster.md):
 *
 * - On the first host's gateway (`firstDataRoot`, from `--cluster-secrets`): writes KV
 *   `nats-members` (libs/platform nats-membership.ts) at start and after each join or `node rm`
 *   (`changed()`), which every token-joined host's agent turns into its nats-server's config.
 * - On the gateway holding the lease (any): once the membership names REPLICATED_SERVERS servers,
 *   gives the platform's streams that many replicas (libs/events scaleStreams), retried every
 *   CHECK_MS until it succeeded for that many servers (the third server is in JetStream's metadata
 *   group only once it has started and routed, a little after its join).
 */
export class NatsClusterKeeper {
  private timer?: NodeJS.Timeout;
  private scaledFor = 0;
  private publishing = false;
  private stale = true;
  private closed = false;
  private readonly members: NatsMembersBucket;

  constructor(
    private readonly nc: NatsConnection,
    private readonly o: { leadership: Leadership; log: Logger; firstDataRoot?: string },
  ) {
    this.members = new NatsMembersBucket(nc);
  }

  start(): void {
    const loop = () => {
      if (this.closed) return;
      this.timer = setTimeout(() => void this.tick().finally(loop), CHECK_MS);
    };
    void this.tick().finally(loop);
  }

  /** The membership changed on this first host (a join, a `node rm`): written to KV at once. */
  changed(): void {
    this.stale = true;
    if (this.nc.info?.cluster !== undefined) void this.publish();
  }

  private async publish(): Promise<void> {
    if (this.o.firstDataRoot === undefined || this.publishing || !this.stale) return;
    this.publishing = true;
    this.stale = false;
    try {
      if (await publishMembership(this.members, this.o.firstDataRoot)) this.o.log.info({}, 'Wrote the NATS cluster membership (KV nats-members)');
    } catch (err) {
      this.stale = true; // the next tick tries again (NATS away, JetStream without a leader yet)
      this.o.log.warn({ err }, 'Cannot write the NATS cluster membership (KV nats-members)');
    } finally {
      this.publishing = false;
    }
    if (this.stale && !this.closed) void this.publish();
  }

  /** One look: the membership written if stale, the streams scaled if due. */
  async tick(): Promise<void> {
    // One nats-server (no cluster in its INFO): no membership, nothing to replicate.
    if (this.nc.info?.cluster === undefined) return;
    await this.publish();
    if (!this.o.leadership.held()) return;
    try {
      const text = await this.members.read();
      const servers = text !== undefined ? checkMembership(JSON.parse(text)).servers.length : 0;
      if (servers < REPLICATED_SERVERS || this.scaledFor === servers) return;
      const scaled = await scaleStreams(this.nc, REPLICATED_SERVERS);
      this.scaledFor = servers;
      if (scaled.length > 0) this.o.log.info({ streams: scaled, replicas: REPLICATED_SERVERS }, 'Replicated the platform streams on the NATS cluster');
    } catch (err) {
      // The new server is not in JetStream yet ("insufficient resources"): the next tick tries again.
      this.o.log.debug({ err }, 'Cannot scale the platform streams yet');
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }
}
