import { describe, expect, it } from 'vitest';
import { PlacementReservations } from './placement-reservations.js';

const none = { memoryBytes: 0, nanoCpus: 0 };

describe('PlacementReservations', () => {
  it('counts a running placement for everyone, and an ended one only for lists read before it ended', async () => {
    const r = new PlacementReservations();
    const before = Date.now() - 1;
    const end = r.reserve('h1', 'p/web');
    r.reserve('h1', 'p/db');
    expect(r.count('h1', 'p/web', before)).toEqual({ all: 2, sameService: 1, demand: none });
    expect(r.count('h2', 'p/web', before)).toEqual({ all: 0, sameService: 0, demand: none });
    end();
    expect(r.count('h1', 'p/web', before)).toEqual({ all: 2, sameService: 1, demand: none });
    expect(r.count('h1', 'p/web', Date.now() + 1)).toEqual({ all: 1, sameService: 0, demand: none });
  });

  it('adds up the resources the placements in progress reserve', () => {
    const r = new PlacementReservations();
    const before = Date.now() - 1;
    r.reserve('h1', 'p/web', { memoryBytes: 100, nanoCpus: 5e8 });
    r.reserve('h1', '', { memoryBytes: 50, nanoCpus: 0 });
    r.reserve('h2', 'p/web', { memoryBytes: 7, nanoCpus: 7 });
    expect(r.count('h1', 'p/web', before).demand).toEqual({ memoryBytes: 150, nanoCpus: 5e8 });
  });
});
