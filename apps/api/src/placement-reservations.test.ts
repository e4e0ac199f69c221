import { describe, expect, it } from 'vitest';
import { PlacementReservations } from './placement-reservations.js';

describe('PlacementReservations', () => {
  it('counts a running placement for everyone, and an ended one only for lists read before it ended', async () => {
    const r = new PlacementReservations();
    const before = Date.now() - 1;
    const end = r.reserve('h1', 'p/web');
    r.reserve('h1', 'p/db');
    expect(r.count('h1', 'p/web', before)).toEqual({ all: 2, sameService: 1 });
    expect(r.count('h2', 'p/web', before)).toEqual({ all: 0, sameService: 0 });
    end();
    expect(r.count('h1', 'p/web', before)).toEqual({ all: 2, sameService: 1 });
    expect(r.count('h1', 'p/web', Date.now() + 1)).toEqual({ all: 1, sameService: 0 });
  });
});
