import { describe, expect, it } from 'vitest';
import type { ClusterStore, PlacementRecord } from '@berth/events';
import { silentLogger } from '@berth/log';
import type { ClusterRouter } from './cluster-router.js';
import type { MoveOps } from './container-move.js';
import { reschedulingEvents } from './rescheduling.js';

const placement = (o: Partial<PlacementRecord>): PlacementRecord => ({ id: 'x', name: '', hostId: 'h3', request: '', restart: true, createdAt: 1, ...o });

describe('rescheduling a lost host', () => {
  it('moves each restart-policy container once, and only forgets one a dead lease holder had moved already', async () => {
    const records = [
      placement({ id: 'web-old', name: 'web' }),
      placement({ id: 'web-new', name: 'web', hostId: 'h1' }), // the replacement the dead holder made
      placement({ id: 'db', name: 'db' }),
      placement({ id: 'tmp', name: 'tmp', restart: false }), // no policy, no project: stays lost
      placement({ id: 'other', name: 'other', hostId: 'h2' }),
    ];
    const steps: string[] = [];
    const ops = {
      place: async (p: PlacementRecord) => (steps.push(`place ${p.id}`), { id: `${p.id}-2`, hostId: 'h1', hostname: 'node-1' }),
      start: async (r: { id: string }) => void steps.push(`start ${r.id}`),
      forget: async (p: PlacementRecord) => void steps.push(`forget ${p.id}`),
    } as unknown as MoveOps;
    const store = { placements: async () => records } as unknown as ClusterStore;
    await reschedulingEvents({ router: {} as ClusterRouter, store, ops, log: silentLogger }).onDown('h3', { hostId: 'h3', hostname: 'node-3', availability: 'active', labelOverrides: {}, lastSeen: 1, status: 'down' });
    expect(steps.sort()).toEqual(['forget db', 'forget web-old', 'place db', 'start db-2']);
  });
});
