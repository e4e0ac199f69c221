import type * as grpc from '@grpc/grpc-js';

/**
 * Where a new container may go in a cluster: hints the gateway's placement reads from a
 * `Containers.Create` call's metadata (apps/api placement.ts). Metadata rather than ContainerSpec
 * fields: placement is the cluster's business, not the container's, and the agent never sees it.
 *   berth-node                   pin to one node (name, host id or unique id prefix): `run --node`, and
 *                                every call when BERTH_NODE is set (`BERTH_NODE=node-2 berth image load`)
 *   berth-constraint             one constraint (repeated): `--constraint`, compose deploy.placement.constraints
 *   berth-placement-preference   one preference (repeated), `spread=node.labels.KEY`: compose deploy.placement.preferences
 *   berth-max-replicas-per-node  compose deploy.placement.max_replicas_per_node
 */
export interface PlacementHints {
  node?: string;
  constraints?: string[];
  preferences?: string[];
  maxReplicasPerNode?: number;
}

export const NODE_METADATA = 'berth-node';
export const CONSTRAINT_METADATA = 'berth-constraint';
const PREFERENCE_METADATA = 'berth-placement-preference';
const MAX_REPLICAS_METADATA = 'berth-max-replicas-per-node';

/**
 * Adds the hints to `metadata` (what is unset adds nothing) and returns it: grpc-js Metadata, or
 * anything with its `set` and `add` (the CLI's unary transport sends plain headers).
 */
export function addPlacementHints<M extends Pick<grpc.Metadata, 'set' | 'add'>>(metadata: M, hints: PlacementHints): M {
  if (hints.node) metadata.set(NODE_METADATA, hints.node);
  for (const c of hints.constraints ?? []) metadata.add(CONSTRAINT_METADATA, c);
  for (const p of hints.preferences ?? []) metadata.add(PREFERENCE_METADATA, p);
  if (hints.maxReplicasPerNode) metadata.set(MAX_REPLICAS_METADATA, String(hints.maxReplicasPerNode));
  return metadata;
}

/** The hints a call carries. */
export function placementHints(metadata: grpc.Metadata): PlacementHints {
  const node = metadata.get(NODE_METADATA)[0];
  const max = Number(metadata.get(MAX_REPLICAS_METADATA)[0] ?? 0);
  return {
    node: typeof node === 'string' && node !== '' ? node : undefined,
    constraints: metadata.get(CONSTRAINT_METADATA).map(String),
    preferences: metadata.get(PREFERENCE_METADATA).map(String),
    maxReplicasPerNode: Number.isInteger(max) && max > 0 ? max : undefined,
  };
}
