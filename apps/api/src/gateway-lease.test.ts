import { describe, expect, it } from 'vitest';
import { LeaseBucket } from '@berth/events';
import { silentLogger } from '@berth/log';
import { waitUntil } from '@berth/testing';
import { GatewayLease } from './gateway-lease.js';
import { useTwoGatewaysNats } from './test-support.js';

/** Two gateways' leases on one real nats-server (a short TTL: the bucket's max age is the server's). */
describe('GatewayLease on a real nats-server', () => {
  const nats = useTwoGatewaysNats();

  it('is held by one gateway at a time, taken over once the holder stops renewing, and given back at once on close', async () => {
    const ttlMs = 1_500;
    const key = 'duties-a';
    const a = new GatewayLease(new LeaseBucket(nats.nc, ttlMs), { log: silentLogger, key, ttlMs, id: 'a' });
    const b = new GatewayLease(new LeaseBucket(nats.other, ttlMs), { log: silentLogger, key, ttlMs, id: 'b' });
    expect(await a.tick()).toBe(true);
    expect(await b.tick()).toBe(false);
    // Renewed (revision-checked) past the TTL: still a's, never b's.
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, ttlMs / 3));
      expect(await a.tick()).toBe(true);
      expect(await b.tick()).toBe(false);
    }
    expect(await new LeaseBucket(nats.other, ttlMs).holder(key)).toMatchObject({ holder: 'a' });
    // a stops renewing (died): its key lapses on the server and b takes it; a's next renewal is refused.
    const lapsedAt = Date.now();
    await waitUntil('b to take the lease', () => b.tick(), { timeoutMs: 10_000, intervalMs: 100 });
    expect(Date.now() - lapsedAt).toBeGreaterThan(ttlMs / 2);
    expect(a.held()).toBe(false);
    expect(await a.tick()).toBe(false);
    // b gives it back: a takes it on its next try, without waiting for the TTL.
    await b.close();
    expect(b.held()).toBe(false);
    expect(await a.tick()).toBe(true);
    await a.close();
  });

  it('is held only while the last renewal is younger than the TTL', async () => {
    const ttlMs = 1_500;
    const lease = new GatewayLease(new LeaseBucket(nats.nc, ttlMs), { log: silentLogger, key: 'duties-b', ttlMs, id: 'c' });
    expect(await lease.tick()).toBe(true);
    // No renewal (NATS away, an event loop stalled): held() turns false before the key can lapse.
    await waitUntil('the lease to lapse for its holder', () => !lease.held(), { timeoutMs: ttlMs + 500, intervalMs: 50 });
    await lease.close();
  });
});
