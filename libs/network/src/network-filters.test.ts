import { describe, expect, it } from 'vitest';
import { matchesFilters } from './network-filters.js';
import type { NetworkRecord } from './types.js';

const record = (name: string, o: Partial<NetworkRecord> = {}): NetworkRecord => ({
  Name: name,
  Id: `${name}0123456789abcdef`,
  Created: '2024-01-01T00:00:00Z',
  Scope: 'local',
  Driver: 'bridge',
  EnableIPv6: false,
  IPAM: { Driver: 'default', Options: {}, Config: [] },
  Internal: false,
  Attachable: false,
  Ingress: false,
  ConfigFrom: { Network: '' },
  ConfigOnly: false,
  Options: {},
  Labels: {},
  ...o,
});

describe('matchesFilters', () => {
  const custom = record('front', { Labels: { tier: 'web', team: '' } });
  const builtin = record('bridge', { Predefined: true });

  it("passes a network when one value of every key matches, as docker's network ls does", () => {
    expect(matchesFilters(custom, {})).toBe(true);
    expect(matchesFilters(custom, { name: ['ro'] })).toBe(true);
    expect(matchesFilters(custom, { name: ['back', 'fro'] })).toBe(true);
    expect(matchesFilters(custom, { name: ['back'] })).toBe(false);
    expect(matchesFilters(custom, { id: [custom.Id.slice(0, 6)] })).toBe(true);
    expect(matchesFilters(custom, { driver: ['host'] })).toBe(false);
    expect(matchesFilters(custom, { label: ['tier'], scope: ['local'] })).toBe(true);
    expect(matchesFilters(custom, { label: ['tier=web'] })).toBe(true);
    expect(matchesFilters(custom, { label: ['tier=db'] })).toBe(false);
    expect([custom, builtin].filter((n) => matchesFilters(n, { type: ['builtin'] })).map((n) => n.Name)).toEqual(['bridge']);
    expect([custom, builtin].filter((n) => matchesFilters(n, { type: ['custom'] })).map((n) => n.Name)).toEqual(['front']);
  });

  it('refuses an unknown filter key', () => {
    expect(() => matchesFilters(custom, { colour: ['red'] })).toThrow("invalid filter 'colour'");
  });
});
