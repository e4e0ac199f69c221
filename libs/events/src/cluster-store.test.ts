import { describe, expect, it } from 'vitest';
import { ClusterStore, type NodeRecord } from './index.js';
import { useNatsFixture } from './test-support.js';

const node = (o: Partial<NodeRecord> = {}): NodeRecord => ({ hostId: 'h1', hostname: 'node-1', availability: 'active', labelOverrides: {}, lastSeen: 1, status: 'ready', ...o });

describe('ClusterStore on a real nats-server', () => {
  const fixture = useNatsFixture();

  it('applies two gateways\' concurrent node changes both (revision-checked, the loser applied again)', async () => {
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
