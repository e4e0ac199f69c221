import { FailedPreconditionError, InvalidArgumentError } from '@berth/errors';

/** A host placement may choose, as the gateway sees it now. */
export interface PlacementCandidate {
  hostId: string;
  hostname: string;
  labels: Record<string, string>;
  /** "manager" or "worker" (absent: "manager", as agents before roles announced none). */
  role?: string;
  /** "active" | "drain" | "pause": only active nodes take new containers. */
  availability: string;
  /** Containers it runs (all of them). */
  containers: number;
  /** Of those, the ones of the same Compose service (replicas spread first by this). */
  sameService: number;
  /** The host's capacity (absent or 0: not known, not weighed). */
  capacity?: Resources;
  /** What its containers that have not exited reserve, and placements in progress there. */
  reserved?: Resources;
}

/** Memory in bytes and CPUs in billionths (Docker's NanoCpus). */
export interface Resources {
  memoryBytes: number;
  nanoCpus: number;
}

export interface PlacementRequest {
  /** `--node`: a node name, host id or unique host id prefix. */
  node?: string;
  /**
   * `--constraint`s: node.labels.KEY==VALUE, node.labels.KEY!=VALUE, node.hostname==|!=NAME, node.id==|!=ID,
   * node.role==|!=manager|worker, node.platform.os==linux, node.platform.arch==x86_64|aarch64|… (swarm's).
   */
  constraints?: string[];
  /**
   * Placement preferences, as swarm's `--placement-pref` and compose's `deploy.placement.preferences`:
   * `spread=node.labels.KEY` splits a service's replicas evenly over the label's values (nodes without
   * the label are one more group); several are hierarchical (the first splits, the next within it).
   */
  preferences?: string[];
  /** `deploy.placement.max_replicas_per_node`: a node with that many replicas of the service takes no more (0: no limit). */
  maxReplicasPerNode?: number;
  /** What the new container reserves (its memory reservation or limit, its CPUs): only nodes with that much free take it. */
  demand?: Resources;
}

interface Constraint {
  text: string;
  field: (c: PlacementCandidate) => string | undefined;
  equal: boolean;
  value: string;
}

const CONSTRAINT = /^\s*(node\.labels\.[^=!\s]+|node\.hostname|node\.id|node\.role|node\.platform\.os|node\.platform\.arch)\s*(==|!=)\s*(.*?)\s*$/;
/** swarm's node.platform.arch values: uname -m's names. */
const ARCH = ({ x64: 'x86_64', arm64: 'aarch64', arm: 'armv7l', ia32: 'i386' } as Record<string, string>)[process.arch] ?? process.arch;

/** Parses one constraint. InvalidArgumentError quoting it when it is not one of the forms above. */
export function parseConstraint(text: string): Constraint {
  const m = CONSTRAINT.exec(text);
  if (!m) {
    throw new InvalidArgumentError(`Invalid constraint "${text}": expected node.labels.KEY==VALUE, node.hostname!=NAME, node.id==ID, node.role==manager or node.platform.os==linux (== or !=)`);
  }
  const [, key, op, value] = m as unknown as [string, string, string, string];
  const fields: Record<string, (c: PlacementCandidate) => string | undefined> = {
    'node.hostname': (c) => c.hostname,
    'node.id': (c) => c.hostId,
    'node.role': (c) => c.role || 'manager',
    // Every node is a Linux host of the gateway's machine kind (agents announce no platform of their own).
    'node.platform.os': () => 'linux',
    'node.platform.arch': () => ARCH,
  };
  const field = fields[key] ?? ((c: PlacementCandidate) => c.labels[key.slice('node.labels.'.length)]);
  return { text, field, equal: op === '==', value };
}

/** The label a `spread=node.labels.KEY` preference spreads over. InvalidArgumentError quoting it otherwise. */
export function parsePreference(text: string): string {
  const m = /^\s*spread\s*=\s*node\.labels\.(\S+?)\s*$/.exec(text);
  if (!m) throw new InvalidArgumentError(`Invalid placement preference "${text}": expected spread=node.labels.KEY`);
  return m[1]!;
}

/**
 * Chooses the host of a new container: the pinned node if any (it must be active and meet the
 * constraints and max replicas), else among active nodes that meet every constraint and have room
 * for another replica, the spread strategy (spread() below, with the preferences). FailedPrecondition
 * with why when nothing fits; InvalidArgument for a bad constraint or preference, or an unknown node.
 */
export function choosePlacement(candidates: PlacementCandidate[], request: PlacementRequest = {}): PlacementCandidate {
  const constraints = (request.constraints ?? []).map(parseConstraint);
  const spreadLabels = (request.preferences ?? []).map(parsePreference);
  const maxReplicas = request.maxReplicasPerNode ?? 0;
  const meets = (c: PlacementCandidate) => constraints.every((k) => (k.field(c) === k.value) === k.equal);
  if (request.node) {
    const node = findNode(candidates, request.node);
    if (node.availability !== 'active') throw new FailedPreconditionError(`Cannot place the container on node "${node.hostname}": its availability is "${node.availability}"`);
    const failed = constraints.find((k) => (k.field(node) === k.value) !== k.equal);
    if (failed) throw new FailedPreconditionError(`Cannot place the container on node "${node.hostname}": it does not meet constraint "${failed.text}"`);
    const short = shortOf(node, request.demand);
    if (short) throw new FailedPreconditionError(`Cannot place the container on node "${node.hostname}": ${short}`);
    if (maxReplicas > 0 && node.sameService >= maxReplicas) {
      throw new FailedPreconditionError(`Cannot place the container on node "${node.hostname}": it runs ${node.sameService} replicas of the service (max_replicas_per_node: ${maxReplicas})`);
    }
    return node;
  }
  const active = candidates.filter((c) => c.availability === 'active');
  const fitting = active.filter(meets);
  if (fitting.length === 0) {
    if (candidates.length === 0) throw new FailedPreconditionError('Cannot place the container: no node is ready');
    if (active.length === 0) throw new FailedPreconditionError(`Cannot place the container: no node is active (${candidates.map((c) => `${c.hostname}: ${c.availability}`).join(', ')})`);
    throw new FailedPreconditionError(
      `Cannot place the container: no active node meets the constraints ${constraints.map((k) => `"${k.text}"`).join(', ')} (nodes: ${active.map((c) => c.hostname).join(', ')})`,
    );
  }
  const roomy = maxReplicas > 0 ? fitting.filter((c) => c.sameService < maxReplicas) : fitting;
  if (roomy.length === 0) {
    throw new FailedPreconditionError(`Cannot place the container: every node that fits already runs ${maxReplicas} replicas of the service (max_replicas_per_node: ${maxReplicas}; nodes: ${fitting.map((c) => c.hostname).join(', ')})`);
  }
  const free = roomy.filter((c) => shortOf(c, request.demand) === undefined);
  if (free.length === 0) {
    throw new FailedPreconditionError(
      `Cannot place the container: no node has ${amount(request.demand!)} free to reserve (${roomy.map((c) => `${c.hostname}: ${shortOf(c, request.demand)}`).join('; ')})`,
    );
  }
  return spread(free, spreadLabels);
}

/** Why `node` cannot reserve `demand` ("only 512 MiB of memory free"), or undefined when it can. */
function shortOf(node: PlacementCandidate, demand: Resources | undefined): string | undefined {
  if (!demand || !node.capacity) return undefined;
  const reserved = node.reserved ?? { memoryBytes: 0, nanoCpus: 0 };
  const freeMemory = node.capacity.memoryBytes - reserved.memoryBytes;
  const freeCpus = node.capacity.nanoCpus - reserved.nanoCpus;
  const lacks: string[] = [];
  if (demand.memoryBytes > 0 && node.capacity.memoryBytes > 0 && demand.memoryBytes > freeMemory) lacks.push(`${mib(Math.max(0, freeMemory))} of memory`);
  if (demand.nanoCpus > 0 && node.capacity.nanoCpus > 0 && demand.nanoCpus > freeCpus) lacks.push(`${cpus(Math.max(0, freeCpus))} CPUs`);
  return lacks.length === 0 ? undefined : `only ${lacks.join(' and ')} free`;
}

const mib = (bytes: number) => `${Math.floor(bytes / 2 ** 20)} MiB`;
const cpus = (nano: number) => `${Math.round(nano / 1e7) / 100}`;
const amount = (d: Resources) => [d.memoryBytes > 0 ? `${mib(d.memoryBytes)} of memory` : '', d.nanoCpus > 0 ? `${cpus(d.nanoCpus)} CPUs` : ''].filter(Boolean).join(' and ');

/**
 * Swarm's spread: with a preference, the label value (missing: a group of its own) whose nodes run
 * the fewest replicas of the service, then the next preference within it; last, the node with the
 * fewest replicas of the service, then the fewest containers, then the name (stable).
 */
function spread(nodes: PlacementCandidate[], labels: string[]): PlacementCandidate {
  const [label, ...rest] = labels;
  if (label === undefined) {
    return [...nodes].sort((a, b) => a.sameService - b.sameService || a.containers - b.containers || a.hostname.localeCompare(b.hostname))[0]!;
  }
  const groups = new Map<string, PlacementCandidate[]>();
  for (const n of nodes) {
    const value = n.labels[label] ?? '\0missing';
    groups.set(value, [...(groups.get(value) ?? []), n]);
  }
  const replicas = (group: PlacementCandidate[]) => group.reduce((sum, n) => sum + n.sameService, 0);
  const [, fewest] = [...groups].sort(([va, a], [vb, b]) => replicas(a) - replicas(b) || va.localeCompare(vb))[0]!;
  return spread(fewest, rest);
}

/** The node named `ref`: its name, its host id, or a unique prefix of the id. InvalidArgumentError otherwise. */
export function findNode<T extends { hostId: string; hostname: string }>(nodes: T[], ref: string): T {
  const exact = nodes.find((n) => n.hostId === ref) ?? nodes.find((n) => n.hostname === ref);
  if (exact) return exact;
  const prefixed = nodes.filter((n) => n.hostId.startsWith(ref));
  if (prefixed.length === 1) return prefixed[0]!;
  if (prefixed.length > 1) throw new InvalidArgumentError(`Node "${ref}" is ambiguous: it is a prefix of ${prefixed.length} node ids`);
  throw new InvalidArgumentError(`No such node: "${ref}" (nodes ready: ${nodes.map((n) => n.hostname).join(', ') || 'none'})`);
}
