import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { LEASE_TTL_MS, type HeldLease, type LeaseBucket, type LeaseHolder } from '@berth/events';
import type { Logger } from '@berth/log';

/** The lease of the cluster-wide duties (node-keeper.ts): finding lost hosts, rescheduling, drains. */
export const CLUSTER_DUTIES = 'cluster-duties';
/** How often the lease is taken or renewed. */
const RENEW_MS = 2_000;
/** The holder stops acting this long before its lease could lapse (the key's max age counts from the server's write, after the ask). */
const MARGIN_MS = 1_000;

/** Whether this gateway may do the cluster-wide duties now. */
export interface Leadership {
  held(): boolean;
}

/** Every gateway leads: a lone gateway, or a unit test's. */
export const alwaysLeading: Leadership = { held: () => true };

/**
 * One gateway's hold on the cluster duties' lease (KV `leases`, lease-bucket.ts). Several gateways
 * may run; each tries every RENEW_MS: the holder renews (only while the key's last revision is its
 * own: lost once another took the key), the others try to take it (only while nobody holds it;
 * every write names the bucket's last sequence, as nats-server 2.9.10 does not serialize a key's
 * revision checks in a NATS cluster: lease-bucket.ts). A holder
 * that dies or loses NATS stops renewing; its key lapses after the bucket's TTL and another gateway
 * takes it within RENEW_MS. `held()` is true only while the last renewal is younger than the TTL
 * (less a margin): a holder cut off from NATS stops acting before another may start.
 */
export class GatewayLease implements Leadership {
  readonly holder: LeaseHolder;
  private lease?: HeldLease;
  private validUntil = 0;
  private timer?: NodeJS.Timeout;
  private was = false;
  private closed = false;

  constructor(
    private readonly bucket: Pick<LeaseBucket, 'take' | 'renew' | 'release'>,
    private readonly o: { log: Logger; key?: string; ttlMs?: number; renewMs?: number; id?: string },
  ) {
    this.holder = { holder: o.id ?? `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`, since: Date.now() };
  }

  private get key(): string {
    return this.o.key ?? CLUSTER_DUTIES;
  }

  held(): boolean {
    return this.lease !== undefined && Date.now() < this.validUntil;
  }

  /** Takes or renews the lease once (start() does it every RENEW_MS). @returns whether it is held. */
  async tick(): Promise<boolean> {
    const asked = Date.now();
    try {
      const lease = this.lease ? await this.bucket.renew(this.key, this.holder, this.lease) : await this.bucket.take(this.key, this.holder);
      if (this.closed) {
        // Closed while asking: what was taken is given back at once.
        if (lease) await this.bucket.release(this.key, lease);
        return false;
      }
      this.lease = lease;
      if (lease) this.validUntil = asked + (this.o.ttlMs ?? LEASE_TTL_MS) - MARGIN_MS;
    } catch (err) {
      // NATS unreachable: the lease is kept until validUntil, then given up (held() says so).
      this.o.log.warn({ err, lease: this.key }, 'Cannot renew the lease of the cluster duties');
    }
    const held = this.held();
    if (held !== this.was) {
      this.was = held;
      if (held) this.o.log.info({ lease: this.key, holder: this.holder.holder }, 'This gateway holds the lease of the cluster duties');
      else this.o.log.warn({ lease: this.key, holder: this.holder.holder }, 'This gateway lost the lease of the cluster duties');
    }
    return held;
  }

  start(): void {
    const loop = () => {
      if (this.closed) return;
      this.timer = setTimeout(() => void this.tick().finally(loop), this.o.renewMs ?? RENEW_MS);
    };
    loop();
  }

  /** Stops renewing and gives the lease back, so that another gateway takes it at once. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const lease = this.lease;
    this.lease = undefined;
    if (lease) await this.bucket.release(this.key, lease);
  }
}
