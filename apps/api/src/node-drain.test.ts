import { describe, expect, it } from 'vitest';
import type { DrainRecord, PlacementRecord } from '@berth/events';
import { silentLogger } from '@berth/log';
import { drainContainers, type DrainCandidate } from './node-drain.js';

const candidate = (name: string): DrainCandidate => ({
  placement: { id: `id-${name}`, name, hostId: 'h2', request: '', restart: true, createdAt: 1 } satisfies PlacementRecord,
  original: 'running',
});

describe('drainContainers', () => {
  it('moves one container at a time, in order', async () => {
    const events: string[] = [];
    let moving = 0;
    const end = await drainContainers([candidate('a'), candidate('b'), candidate('c')], {
      move: async (c) => {
        moving++;
        expect(moving).toBe(1);
        events.push(`begin ${c.placement.name}`);
        await new Promise((r) => setTimeout(r, 5));
        events.push(`end ${c.placement.name}`);
        moving--;
        return { id: `new-${c.placement.name}`, hostId: 'h1', hostname: 'node-1' };
      },
      draining: () => true,
      progress: async () => {},
      log: silentLogger,
    });
    expect(events).toEqual(['begin a', 'end a', 'begin b', 'end b', 'begin c', 'end c']);
    expect(end).toMatchObject({ state: 'drained', moved: 3, staying: [] });
  });

  it('leaves the ones that cannot move, says why, and goes on with the others', async () => {
    const progress: DrainRecord[] = [];
    const end = await drainContainers([candidate('a'), candidate('b')], {
      move: async (c) => {
        if (c.placement.name === 'a') throw new Error('Cannot place the container: no active node meets the constraints "node.labels.zone==z2" (nodes: node-1)');
        return { id: 'new-b', hostId: 'h1', hostname: 'node-1' };
      },
      draining: () => true,
      progress: async (d) => void progress.push(d),
      log: silentLogger,
    });
    expect(end).toMatchObject({ state: 'incomplete', moved: 1, staying: [{ id: 'id-a', name: 'a', reason: expect.stringContaining('no active node meets') }] });
    expect(progress.map((p) => `${p.state} ${p.moved} ${p.staying.length}`)).toEqual(['draining 0 1', 'draining 1 1', 'incomplete 1 1']);
  });

  it('stops before the next container once the node is not draining any more', async () => {
    const moved: string[] = [];
    let draining = true;
    const end = await drainContainers([candidate('a'), candidate('b')], {
      move: async (c) => {
        moved.push(c.placement.name);
        draining = false; // `node update --availability active` while a moves
        return { id: 'x', hostId: 'h1', hostname: 'node-1' };
      },
      draining: () => draining,
      progress: async () => {},
      log: silentLogger,
    });
    expect(moved).toEqual(['a']);
    expect(end).toBeUndefined();
  });
});
