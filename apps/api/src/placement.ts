import { FailedPreconditionError, InvalidArgumentError } from '@berth/errors';

/** A host placement may choose, as the gateway sees it now. */
export interface PlacementCandidate {
  hostId: string;
  hostname: string;
  labels: Record<string, string>;
  /** "active" | "drain" | "pause": only active nodes take new containers. */
  availability: string;
  /** Containers it runs (all of them). */
  containers: number;
  /** Of those, the ones of the same Compose service (replicas spread first by this). */
  sameService: number;
}

export interface PlacementRequest {
  /** `--node`: a node name, host id or unique host id prefix. */
  node?: string;
  /** `--constraint`s: node.labels.KEY==VALUE, node.labels.KEY!=VALUE, node.hostname==|!=NAME, node.id==|!=ID. */
  constraints?: string[];
}

interface Constraint {
  text: string;
  field: (c: PlacementCandidate) => string | undefined;
  equal: boolean;
  value: string;
}

/** Parses one constraint. InvalidArgumentError quoting it when it is not one of the forms above. */
export function parseConstraint(text: string): Constraint {
  const m = /^\s*(node\.labels\.[^=!\s]+|node\.hostname|node\.id)\s*(==|!=)\s*(.*?)\s*$/.exec(text);
  if (!m) {
    throw new InvalidArgumentError(`Invalid constraint "${text}": expected node.labels.KEY==VALUE, node.hostname!=NAME or node.id==ID (== or !=)`);
  }
  const [, key, op, value] = m as unknown as [string, string, string, string];
  const field =
    key === 'node.hostname'
      ? (c: PlacementCandidate) => c.hostname
      : key === 'node.id'
        ? (c: PlacementCandidate) => c.hostId
        : (c: PlacementCandidate) => c.labels[key.slice('node.labels.'.length)];
  return { text, field, equal: op === '==', value };
}

/**
 * Chooses the host of a new container: the pinned node if any (it must be active and meet the
 * constraints), else among active nodes that meet every constraint, the spread strategy: fewest
 * replicas of the same service, then fewest containers, then the name (stable). FailedPrecondition
 * with why when nothing fits; InvalidArgument for a bad constraint or an unknown node.
 */
export function choosePlacement(candidates: PlacementCandidate[], request: PlacementRequest = {}): PlacementCandidate {
  const constraints = (request.constraints ?? []).map(parseConstraint);
  const meets = (c: PlacementCandidate) => constraints.every((k) => (k.field(c) === k.value) === k.equal);
  if (request.node) {
    const node = findNode(candidates, request.node);
    if (node.availability !== 'active') throw new FailedPreconditionError(`Cannot place the container on node "${node.hostname}": its availability is "${node.availability}"`);
    const failed = constraints.find((k) => (k.field(node) === k.value) !== k.equal);
    if (failed) throw new FailedPreconditionError(`Cannot place the container on node "${node.hostname}": it does not meet constraint "${failed.text}"`);
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
  return [...fitting].sort((a, b) => a.sameService - b.sameService || a.containers - b.containers || a.hostname.localeCompare(b.hostname))[0]!;
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
