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

describe('placement preferences and max replicas per node', () => {
  const zoned = (hostname: string, zone: string | undefined, sameService = 0, containers = 0) =>
    node(hostname, { labels: zone === undefined ? {} : { zone }, sameService, containers });

  it('spreads over the values of a label before spreading over nodes', () => {
    // z1 has two nodes with one replica each, z2 one node with one replica: z2 has fewer replicas in all,
    // although each z1 node is as loaded as the z2 node.
    const nodes = [zoned('a', 'z1', 1), zoned('b', 'z1', 1), zoned('c', 'z2', 1), zoned('d', 'z1', 0, 9)];
    expect(choosePlacement(nodes).hostname).toBe('d');
    expect(choosePlacement(nodes, { preferences: ['spread=node.labels.zone'] }).hostname).toBe('c');
  });

  it('counts nodes without the label as one group of their own', () => {
    const nodes = [zoned('a', 'z1', 1), zoned('b', undefined, 0), zoned('c', undefined, 1)];
    expect(choosePlacement(nodes, { preferences: ['spread=node.labels.zone'] }).hostname).toBe('b');
    expect(choosePlacement([zoned('a', 'z1', 0), zoned('b', undefined, 1), zoned('c', undefined, 1)], { preferences: ['spread=node.labels.zone'] }).hostname).toBe('a');
  });

  it('applies several preferences hierarchically', () => {
    const rack = (hostname: string, zone: string, r: string, sameService: number) => node(hostname, { labels: { zone, rack: r }, sameService });
    const nodes = [rack('a', 'z1', 'r1', 2), rack('b', 'z1', 'r2', 0), rack('c', 'z2', 'r1', 1), rack('d', 'z2', 'r2', 1)];
    // By zone: z1 has 2, z2 has 2 → tie, z1 by name; within z1, rack r2 has fewer.
    expect(choosePlacement(nodes, { preferences: ['spread=node.labels.zone', 'spread=node.labels.rack'] }).hostname).toBe('b');
  });

  it('refuses a preference it does not know, quoting it', () => {
    expect(() => choosePlacement([node('a')], { preferences: ['pack=node.labels.zone'] })).toThrow(
      'Invalid placement preference "pack=node.labels.zone": expected spread=node.labels.KEY',
    );
  });

  it('keeps a node with max_replicas_per_node replicas of the service out, and says so when none is left', () => {
    const nodes = [node('a', { sameService: 0, containers: 9 }), node('b', { sameService: 2 })];
    expect(choosePlacement(nodes, { maxReplicasPerNode: 1 }).hostname).toBe('a');
    expect(() => choosePlacement([node('a', { sameService: 1 }), node('b', { sameService: 1 })], { maxReplicasPerNode: 1 })).toThrow(
      'Cannot place the container: every node that fits already runs 1 replicas of the service (max_replicas_per_node: 1; nodes: a, b)',
    );
    expect(() => choosePlacement([node('a', { sameService: 1 })], { node: 'a', maxReplicasPerNode: 1 })).toThrow('max_replicas_per_node: 1');
  });
});

describe('swarm constraints on role and platform', () => {
  it('matches node.role (a node without a role is a manager) and node.platform.os/arch', () => {
    const nodes = [node('a', { role: 'manager' }), node('b', { role: 'worker' }), node('c')];
    expect(choosePlacement(nodes, { constraints: ['node.role==worker'] }).hostname).toBe('b');
    expect(choosePlacement(nodes, { constraints: ['node.role == manager', 'node.hostname!=a'] }).hostname).toBe('c');
    expect(choosePlacement(nodes, { constraints: ['node.platform.os==linux'] }).hostname).toBe('a');
    expect(() => choosePlacement(nodes, { constraints: ['node.platform.os==windows'] })).toThrow('no active node meets the constraints "node.platform.os==windows"');
  });
});

describe('resource reservations against each node capacity', () => {
  const GiB = 2 ** 30;
  const sized = (hostname: string, reservedGiB: number, reservedCpus: number, o: Partial<PlacementCandidate> = {}) =>
    node(hostname, { capacity: { memoryBytes: 4 * GiB, nanoCpus: 2e9 }, reserved: { memoryBytes: reservedGiB * GiB, nanoCpus: reservedCpus * 1e9 }, ...o });

  it('keeps nodes without room for the demand out', () => {
    const nodes = [sized('a', 3.5, 0), sized('b', 1, 1.5, { containers: 9 })];
    expect(choosePlacement(nodes, { demand: { memoryBytes: 1 * GiB, nanoCpus: 0 } }).hostname).toBe('b');
    expect(choosePlacement(nodes, { demand: { memoryBytes: 0, nanoCpus: 1e9 } }).hostname).toBe('a');
    // Unknown capacity (an agent that announced none) is not weighed.
    expect(choosePlacement([node('c')], { demand: { memoryBytes: 64 * GiB, nanoCpus: 64e9 } }).hostname).toBe('c');
  });

  it('says what each node has free when none has room', () => {
    const nodes = [sized('a', 3.5, 0), sized('b', 1, 1.5)];
    expect(() => choosePlacement(nodes, { demand: { memoryBytes: 1 * GiB, nanoCpus: 1e9 } })).toThrow(
      'Cannot place the container: no node has 1024 MiB of memory and 1 CPUs free to reserve (a: only 512 MiB of memory free; b: only 0.5 CPUs free)',
    );
    expect(() => choosePlacement(nodes, { node: 'a', demand: { memoryBytes: 1 * GiB, nanoCpus: 0 } })).toThrow(
      'Cannot place the container on node "a": only 512 MiB of memory free',
    );
  });
});
