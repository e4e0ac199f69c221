import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { useNatsClusterFixture, waitUntil } from '@berth/testing';
import { type HeldLease, LeaseBucket } from './index.js';

/** The bucket's max age: short, for a lease to lapse within a test. */
const TTL_MS = 1_500;

/**
 * Two gateways' leases on a NATS cluster of three, each gateway connected to its own server:
 * nats-server 2.9.10 lets two creates of one key both through there when they are in flight at
 * once (nats-io/nats-server#4320, tools/nats-cas-race.ts), which let two gateways both take the
 * cluster duties' lease.
 */
describe('LeaseBucket on a NATS cluster of three', () => {
  // The bucket made first, as a gateway's start does, and a lease taken and given back through each server.
  const cluster = useNatsClusterFixture(async (nc) => {
    const bucket = new LeaseBucket(nc, TTL_MS);
    await bucket.release('warm-up', (await bucket.take('warm-up', { holder: 'test', since: Date.now() }))!);
  });
  let a: LeaseBucket;
  let b: LeaseBucket;
  beforeAll(() => {
    a = new LeaseBucket(cluster.nc, TTL_MS);
    b = new LeaseBucket(cluster.other, TTL_MS);
  });

  it('lets one of two gateways take a lease both take at the same moment, round after round', async () => {
    const key = `duties-${randomBytes(4).toString('hex')}`;
    const takenPerRound: number[] = [];
    for (let round = 0; round < 300; round++) {
      // The same lease every round (given back after it), and a new one.
      for (const k of [key, `${key}-${round}`]) {
        const taken = await Promise.all([a.take(k, { holder: 'a', since: Date.now() }), b.take(k, { holder: 'b', since: Date.now() })]);
        const held = taken.flatMap((lease, i) => (lease ? [{ bucket: [a, b][i]!, lease }] : []));
        takenPerRound.push(held.length);
        expect(held.length, `takers of ${k} in round ${round + 1} of 300`).toBe(1);
        for (const h of held) await h.bucket.release(k, h.lease);
      }
    }
    expect(takenPerRound).toEqual(Array(600).fill(1));
  }, 120_000);

  it('renews two leases side by side through two servers, each refused only by its own key', async () => {
    const keyA = `duties-${randomBytes(4).toString('hex')}`;
    const keyB = `${keyA}-b`;
    let leaseA: HeldLease | undefined = await a.take(keyA, { holder: 'a', since: Date.now() });
    let leaseB: HeldLease | undefined = await b.take(keyB, { holder: 'b', since: Date.now() });
    // Each renewal names the bucket's last sequence: the other lease's renewal in flight refuses it,
    // and it reads again and renews (the key's last revision is still its own), never "lost".
    for (let round = 0; round < 20; round++) {
      [leaseA, leaseB] = await Promise.all([a.renew(keyA, { holder: 'a', since: 0 }, leaseA!), b.renew(keyB, { holder: 'b', since: 0 }, leaseB!)]);
      expect([leaseA, leaseB], `renewals in round ${round + 1} of 20`).toEqual([expect.anything(), expect.anything()]);
    }
    // Taken by neither other gateway meanwhile.
    expect(await b.take(keyA, { holder: 'b', since: Date.now() })).toBeUndefined();
    expect(await a.holder(keyB)).toMatchObject({ holder: 'b' });
    await Promise.all([a.release(keyA, leaseA!), b.release(keyB, leaseB!)]);
  }, 60_000);

  it('lets a lapsed lease be taken (its max age passed: the stream keeps its last sequence), and its old holder not renew it', async () => {
    const key = `duties-${randomBytes(4).toString('hex')}`;
    const old = await a.take(key, { holder: 'a', since: Date.now() });
    expect(old).toBeDefined();
    expect(await b.take(key, { holder: 'b', since: Date.now() })).toBeUndefined();
    // a stops renewing: once the server dropped its key, b takes it.
    let taken: HeldLease | undefined;
    await waitUntil('b to take the lapsed lease', async () => (taken = await b.take(key, { holder: 'b', since: Date.now() })) !== undefined, { timeoutMs: 10 * TTL_MS, intervalMs: 100 });
    expect(await a.holder(key)).toMatchObject({ holder: 'b' });
    expect(await a.renew(key, { holder: 'a', since: 0 }, old!)).toBeUndefined();
    // Its give-back leaves b's lease.
    await a.release(key, old!);
    expect(await a.holder(key)).toMatchObject({ holder: 'b' });
    await b.release(key, taken!);
    expect(await a.holder(key)).toBeUndefined();
  }, 60_000);
});
