import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { useNatsClusterFixture } from '@berth/testing';
import { ClusterStore, NAME_CLAIM_STALE_MS, type NodeRecord } from './index.js';
import { useNatsFixture } from './test-support.js';

const node = (o: Partial<NodeRecord> = {}): NodeRecord => ({ hostId: 'h1', hostname: 'node-1', availability: 'active', labelOverrides: {}, lastSeen: 1, status: 'ready', ...o });

describe('ClusterStore on a real nats-server', () => {
  const fixture = useNatsFixture();

  it('applies two gateways\' concurrent node changes both (the loser read and applied again)', async () => {
    const one = new ClusterStore(fixture.nc);
    const two = new ClusterStore(fixture.nc);
    await one.putNode(node());
    // Both read the same revision; one of the writes is refused and applied again to the other's record.
    await Promise.all([
      one.changeNode('h1', (r) => r && { ...r, availability: 'drain' }),
      two.changeNode('h1', (r) => r && { ...r, status: 'down', lastSeen: 2 }),
    ]);
    expect((await one.nodes()).find((r) => r.hostId === 'h1')).toMatchObject({ availability: 'drain', status: 'down', lastSeen: 2 });
    // No record and a change that needs one: nothing written.
    expect(await one.changeNode('h9', (r) => r)).toBeUndefined();
    expect(await one.changeNode('h9', (r) => r ?? node({ hostId: 'h9' }))).toMatchObject({ hostId: 'h9' });
  });

  it('lets one of two creates claim a container name, and the name be claimed again once given back', async () => {
    const one = new ClusterStore(fixture.nc);
    const two = new ClusterStore(fixture.nc);
    const claims = await Promise.all([one.claimName('web..1', 'a'), two.claimName('web..1', 'b')]);
    expect(claims.filter((c) => c !== undefined)).toHaveLength(1);
    expect(await one.claimName('web..1', 'c')).toBeUndefined();
    await claims.find((c) => c !== undefined)!();
    const again = await two.claimName('web..1', 'd');
    expect(again).toBeDefined();
    await again!();
  });
});

/**
 * Two gateways' name claims, VNI claims and node changes on a NATS cluster of three, each gateway
 * connected to its own server: nats-server 2.9.10 lets two creates (or updates) of one key both
 * through there when they are in flight at once (nats-io/nats-server#4320, tools/nats-cas-race.ts),
 * which let two creates of one name through two gateways both pass the claim, two overlay networks
 * both take one VNI, and one node change overwrite another.
 */
describe('ClusterStore on a NATS cluster of three: name claims, VNI claims, node changes', () => {
  // The bucket made first, as a gateway's start does, and a claim through each server; the `cluster`
  // bucket likewise (node records and overlay networks), and a sequenced write through each server.
  const cluster = useNatsClusterFixture(async (nc) => {
    await (await new ClusterStore(nc).claimName('warm-up', 'test'))!();
    await new ClusterStore(nc).changeNode('warm-up', () => node({ hostId: 'warm-up' }));
  });

  it('lets one of two gateways claim a name claimed by both at the same moment, round after round', async () => {
    const a = new ClusterStore(cluster.nc);
    const b = new ClusterStore(cluster.other);
    const name = `web-${randomBytes(4).toString('hex')}`;
    const claimedPerRound: number[] = [];
    for (let round = 0; round < 40; round++) {
      // The same name every round (given back after it: a create after a purge), and a new one.
      for (const n of [name, `${name}-${round}`]) {
        const claims = await Promise.all([a.claimName(n, 'a'), b.claimName(n, 'b')]);
        const held = claims.filter((c) => c !== undefined);
        claimedPerRound.push(held.length);
        expect(held.length, `claims of "${n}" in round ${round + 1} of 40`).toBe(1);
        await held[0]!();
      }
    }
    expect(claimedPerRound).toEqual(Array(80).fill(1));
  }, 120_000);

  it("claims each of many names claimed side by side through both gateways (another name's claim is no conflict)", async () => {
    const a = new ClusterStore(cluster.nc);
    const b = new ClusterStore(cluster.other);
    const base = `svc-${randomBytes(4).toString('hex')}`;
    // A `compose up` of five replicas through each gateway at once: every write names the bucket's
    // last sequence, so most are refused by another name's claim first, and read and written again.
    const names = (g: string) => [1, 2, 3, 4, 5].map((i) => `${base}-${g}-${i}`);
    const claims = await Promise.all([...names('a').map((n) => a.claimName(n, 'a')), ...names('b').map((n) => b.claimName(n, 'b'))]);
    expect(claims.every((c) => c !== undefined)).toBe(true);
    // Held: refused to the other gateway; given back side by side, each claimable again.
    expect(await b.claimName(`${base}-a-1`, 'b')).toBeUndefined();
    await Promise.all(claims.map((c) => c!()));
    const again = await Promise.all([...names('a'), ...names('b')].map((n) => b.claimName(n, 'b')));
    expect(again.every((c) => c !== undefined)).toBe(true);
    await Promise.all(again.map((c) => c!()));
  }, 60_000);

  it('takes over a stale claim, which its first claimant then cannot give back', async () => {
    const a = new ClusterStore(cluster.nc);
    const b = new ClusterStore(cluster.other);
    const name = `stale-${randomBytes(4).toString('hex')}`;
    const first = await a.claimName(name, 'a');
    expect(first).toBeDefined();
    expect(await b.claimName(name, 'b')).toBeUndefined();
    // Later than NAME_CLAIM_STALE_MS (a gateway that died mid-create): b takes it over.
    const later = Date.now() + NAME_CLAIM_STALE_MS + 1_000;
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => later);
    let second: (() => Promise<void>) | undefined;
    try {
      second = await b.claimName(name, 'b');
    } finally {
      clock.mockRestore();
    }
    expect(second).toBeDefined();
    // a's give-back leaves b's claim (its last revision is not a's); b's frees the name.
    await first!();
    expect(await a.claimName(name, 'c')).toBeUndefined();
    await second!();
    const third = await a.claimName(name, 'c');
    expect(third).toBeDefined();
    await third!();
  }, 60_000);

  it('gives a VNI claimed by two gateways at the same moment to one of them, round after round', async () => {
    const a = new ClusterStore(cluster.nc);
    const b = new ClusterStore(cluster.other);
    const overlay = (vni: number, by: string) => ({ id: `${by}-${vni}`, name: `net-${by}`, vni, subnet: '10.200.0.0/24', request: '', createdAt: Date.now() });
    const base = 4096 + randomBytes(2).readUInt16BE() * 8;
    const wonPerRound: number[] = [];
    for (let round = 0; round < 40; round++) {
      // The same VNI every round (forgotten after it, as a failed create does), then a new one.
      for (const vni of [base, base + 1 + (round % 7)]) {
        const won = await Promise.all([a.claimOverlayNetwork(overlay(vni, 'a')), b.claimOverlayNetwork(overlay(vni, 'b'))]);
        wonPerRound.push(won.filter(Boolean).length);
        expect(won.filter(Boolean).length, `claims of VNI ${vni} in round ${round + 1} of 40`).toBe(1);
        const held = (await a.overlayNetworks()).filter((r) => r.vni === vni);
        expect(held.map((r) => r.id)).toEqual([won[0] ? `a-${vni}` : `b-${vni}`]);
        await a.deleteOverlayNetwork(vni);
      }
    }
    expect(wonPerRound).toEqual(Array(80).fill(1));
  }, 120_000);

  it("applies two gateways' changes of one node record made at the same moment both, round after round", async () => {
    const a = new ClusterStore(cluster.nc);
    const b = new ClusterStore(cluster.other);
    const hostId = `h-${randomBytes(4).toString('hex')}`;
    await a.putNode(node({ hostId, lastSeen: 0, labelOverrides: {} }));
    // Each round both gateways count in the same record, one in lastSeen, one in a label: a change
    // written over the other's (a lost update) shows as a count short.
    for (let round = 1; round <= 40; round++) {
      await Promise.all([
        a.changeNode(hostId, (r) => r && { ...r, lastSeen: r.lastSeen + 1 }),
        b.changeNode(hostId, (r) => r && { ...r, labelOverrides: { ...r.labelOverrides, count: String(Number(r.labelOverrides.count ?? 0) + 1) } }),
      ]);
      const stored = await b.node(hostId);
      expect({ lastSeen: stored?.lastSeen, count: stored?.labelOverrides.count }, `round ${round} of 40`).toEqual({ lastSeen: round, count: String(round) });
    }
    await a.deleteNode(hostId);
  }, 120_000);
});
