import { describe, expect, it } from 'vitest';
import { RecentPlacements } from './recent-placements.js';

describe('RecentPlacements', () => {
  it('knows the host of a container by its full id only, until it is forgotten', () => {
    const placed = new RecentPlacements();
    placed.remember('a'.repeat(64), 'host-1');
    expect(placed.hostOf('a'.repeat(64))).toBe('host-1');
    expect(placed.hostOf('a'.repeat(12))).toBeUndefined();
    placed.forget('a'.repeat(64));
    expect(placed.hostOf('a'.repeat(64))).toBeUndefined();
  });

  it('keeps the newest entries past its limit', () => {
    const placed = new RecentPlacements(2);
    placed.remember('c1', 'h1');
    placed.remember('c2', 'h2');
    placed.remember('c1', 'h1'); // remembered again: the newest now
    placed.remember('c3', 'h3');
    expect([placed.hostOf('c1'), placed.hostOf('c2'), placed.hostOf('c3')]).toEqual(['h1', undefined, 'h3']);
  });
});
