import { describe, expect, it } from 'vitest';
import { filterNetworks, networkPruneFilter } from './network-filters.js';
import { networkRecord } from './network-record.js';
import type { NetworkRecord } from './types.js';

const record = (name: string, o: Partial<NetworkRecord> = {}): NetworkRecord => ({
  ...networkRecord(name, { id: `${name}0123456789abcdef`, driver: 'bridge', config: [], created: '2024-01-01T00:00:00Z' }),
  ...o,
});

const front = record('front', { Labels: { tier: 'web', team: '' } });
const back = record('back', { Labels: { tier: 'db' }, Created: '2025-01-01T00:00:00Z' });
const bridge = record('bridge', { Predefined: true });
const host = record('host', { Predefined: true, Driver: 'host' });
const all = [front, back, bridge, host];
const used = new Set(['back']);
const names = (filters: Record<string, string[]>) => filterNetworks(all, filters, { inUse: (n) => used.has(n.Name) }).map((n) => n.Name);

describe("filterNetworks (docker's network ls)", () => {
  it('name and id: exact or regular expression; values OR, keys AND', () => {
    expect(names({})).toEqual(['front', 'back', 'bridge', 'host']);
    expect(names({ name: ['ro'] })).toEqual(['front']);
    expect(names({ name: ['^b'] })).toEqual(['back', 'bridge']);
    expect(names({ name: ['back', 'fro'] })).toEqual(['front', 'back']);
    expect(names({ id: [front.Id.slice(0, 6)] })).toEqual(['front']);
    expect(names({ name: ['^b'], driver: ['bridge'] })).toEqual(['back', 'bridge']);
  });

  it('driver and scope: exact', () => {
    expect(names({ driver: ['host'] })).toEqual(['host']);
    expect(names({ driver: ['brid'] })).toEqual([]);
    expect(names({ scope: ['local'] })).toEqual(['front', 'back', 'bridge', 'host']);
    expect(names({ scope: ['swarm'] })).toEqual([]);
  });

  it('label: every one must hold', () => {
    expect(names({ label: ['tier'] })).toEqual(['front', 'back']);
    expect(names({ label: ['tier=web'] })).toEqual(['front']);
    expect(names({ label: ['tier=web', 'team'] })).toEqual(['front']);
    expect(names({ label: ['tier=db', 'team'] })).toEqual([]);
  });

  it('type: builtin or custom', () => {
    expect(names({ type: ['builtin'] })).toEqual(['bridge', 'host']);
    expect(names({ type: ['custom'] })).toEqual(['front', 'back']);
    expect(names({ type: ['custom', 'builtin'] })).toEqual(['front', 'back', 'bridge', 'host']);
    expect(() => names({ type: ['mine'] })).toThrow("invalid filter: 'type'='mine'");
  });

  it('dangling: user-defined networks no container uses', () => {
    expect(names({ dangling: ['true'] })).toEqual(['front']);
    expect(names({ dangling: ['0'] })).toEqual(['back', 'bridge', 'host']);
    expect(() => names({ dangling: ['yes'] })).toThrow(`invalid value for filter 'dangling', must be "true" (or "1"), or "false" (or "0")`);
    expect(() => names({ dangling: ['true', 'false'] })).toThrow('got more than one value for filter key "dangling"');
  });

  it("refuses an unknown key with docker's message", () => {
    expect(() => names({ colour: ['red'] })).toThrow("invalid filter 'colour'");
  });
});

describe('networkPruneFilter', () => {
  it('until, label and label! as docker network prune', () => {
    const pick = (filters: Record<string, string[]>) => all.filter(networkPruneFilter(filters)).map((n) => n.Name);
    expect(pick({ until: ['2024-06-01T00:00:00Z'] })).toEqual(['front', 'bridge', 'host']);
    expect(pick({ label: ['tier'] })).toEqual(['front', 'back']);
    expect(pick({ 'label!': ['tier=web'] })).toEqual(['back', 'bridge', 'host']);
    expect(() => pick({ name: ['x'] })).toThrow("invalid filter 'name'");
  });
});
