import { describe, expect, it } from 'vitest';
import { choosePlacement, findNode, parseConstraint, type PlacementCandidate } from './placement.js';

const node = (hostname: string, o: Partial<PlacementCandidate> = {}): PlacementCandidate => ({
  hostId: `${hostname}-id`,
  hostname,
  labels: {},
  availability: 'active',
  containers: 0,
  sameService: 0,
  ...o,
});

describe('choosePlacement', () => {
  it('spreads replicas of a service first, then containers, then by name', () => {
    const a = node('a', { sameService: 1, containers: 0 });
    const b = node('b', { sameService: 0, containers: 5 });
    const c = node('c', { sameService: 0, containers: 2 });
    expect(choosePlacement([a, b, c]).hostname).toBe('c');
    expect(choosePlacement([node('y'), node('x')]).hostname).toBe('x');
  });

  it('keeps to nodes meeting every constraint, and to active ones', () => {
    const nodes = [node('a', { labels: { zone: 'z1' } }), node('b', { labels: { zone: 'z2' } }), node('c', { labels: { zone: 'z2' }, availability: 'drain' })];
    expect(choosePlacement(nodes, { constraints: ['node.labels.zone==z2'] }).hostname).toBe('b');
    expect(choosePlacement(nodes, { constraints: ['node.labels.zone!=z2'] }).hostname).toBe('a');
    expect(() => choosePlacement(nodes, { constraints: ['node.hostname!=a', 'node.hostname!=b'] })).toThrow('no active node meets the constraints');
  });

  it('says why nothing fits', () => {
    const nodes = [node('a', { labels: { zone: 'z1' } }), node('b', { availability: 'pause' })];
    expect(() => choosePlacement(nodes, { constraints: ['node.labels.zone==z9'] })).toThrow(
      'Cannot place the container: no active node meets the constraints "node.labels.zone==z9" (nodes: a)',
    );
    expect(() => choosePlacement([node('b', { availability: 'drain' })])).toThrow('Cannot place the container: no node is active (b: drain)');
    expect(() => choosePlacement([])).toThrow('Cannot place the container: no node is ready');
  });

  it('pins to --node, which must be active and meet the constraints', () => {
    const nodes = [node('a', { sameService: 9 }), node('b'), node('c', { availability: 'drain' })];
    expect(choosePlacement(nodes, { node: 'a' }).hostname).toBe('a');
    expect(choosePlacement(nodes, { node: 'a-i' }).hostname).toBe('a');
    expect(() => choosePlacement(nodes, { node: 'c' })).toThrow('Cannot place the container on node "c": its availability is "drain"');
    expect(() => choosePlacement(nodes, { node: 'a', constraints: ['node.hostname==b'] })).toThrow('it does not meet constraint "node.hostname==b"');
    expect(() => choosePlacement(nodes, { node: 'zz' })).toThrow('No such node: "zz" (nodes ready: a, b, c)');
  });
});

describe('parseConstraint', () => {
  it('refuses what it cannot read, quoting it', () => {
    expect(() => parseConstraint('zone=z1')).toThrow('Invalid constraint "zone=z1": expected node.labels.KEY==VALUE');
    expect(() => parseConstraint('node.labels.zone~z1')).toThrow('Invalid constraint "node.labels.zone~z1"');
    expect(parseConstraint(' node.labels.zone == z1 ').value).toBe('z1');
  });
});

describe('findNode', () => {
  it('finds by id, name or unique id prefix', () => {
    const nodes = [{ hostId: 'abc1', hostname: 'n1' }, { hostId: 'abc2', hostname: 'n2' }];
    expect(findNode(nodes, 'n2').hostId).toBe('abc2');
    expect(findNode(nodes, 'abc1').hostname).toBe('n1');
    expect(() => findNode(nodes, 'abc')).toThrow('Node "abc" is ambiguous: it is a prefix of 2 node ids');
  });
});
