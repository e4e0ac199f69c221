import type * as grpc from '@grpc/grpc-js';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@berth/errors';
import { ContainersService, ListContainersRequest, handleUnary, type ListContainersResponse, type Node, type NodeRef, type NodesServer, type RemoveNodeRequest, type UpdateNodeRequest } from '@berth/proto';
import type { ClusterRouter } from './cluster-router.js';
import type { NodeKeeper } from './node-keeper.js';

const AVAILABILITIES = ['active', 'drain', 'pause'];

/**
 * `berth node ls|inspect|update|rm`: the node keeper's records with each ready node's announcement and running containers.
 * `revoke`: what `node rm` also does on a gateway that admits hosts (`--cluster-secrets`): the host's
 * NATS keys are let out of the nats-server, as swarm's `node rm` revokes a node's certificate.
 */
export function nodesService(router: ClusterRouter, keeper: NodeKeeper, options: { revoke?: (hostId: string) => Promise<void> } = {}): grpc.UntypedServiceImplementation {
  const view = async (): Promise<Node[]> => {
    const entries = keeper.nodes();
    const ready = entries.filter((e) => e.record.status === 'ready' && e.host);
    const counts = await router.fanOut<ListContainersResponse>(ContainersService.list, ListContainersRequest.fromPartial({ all: false }), { hosts: ready.map((e) => e.host!) });
    const running = new Map(counts.filter((a) => a.result).map((a) => [a.host.hostId, a.result!.containers.length]));
    return entries
      .map(({ record, host }) => ({
        id: record.hostId,
        hostname: record.hostname,
        status: record.status,
        availability: record.availability,
        labels: host ? keeper.labels(host) : Object.fromEntries(Object.entries(record.labelOverrides).filter((e): e is [string, string] => e[1] !== null)),
        cpus: host?.node?.cpus ?? 0,
        memoryBytes: host?.node?.memoryBytes ?? 0,
        containers: running.get(record.hostId) ?? 0,
        address: host?.address ?? '',
        startedAt: host?.startedAt ?? 0,
        lastSeen: record.lastSeen,
        drain: record.drain,
      }))
      .sort((a, b) => a.hostname.localeCompare(b.hostname) || a.id.localeCompare(b.id));
  };
  const find = (nodes: Node[], ref: string): Node => {
    const exact = nodes.find((n) => n.id === ref) ?? nodes.find((n) => n.hostname === ref);
    if (exact) return exact;
    const prefixed = nodes.filter((n) => n.id.startsWith(ref));
    if (prefixed.length === 1) return prefixed[0]!;
    if (prefixed.length > 1) throw new InvalidArgumentError(`Node "${ref}" is ambiguous: it is a prefix of ${prefixed.length} node ids`);
    throw new NotFoundError(`No such node: ${ref}`);
  };
  const server: NodesServer = {
    list: handleUnary(async () => ({ nodes: await view() })),
    inspect: handleUnary(async (request: NodeRef) => find(await view(), request.id)),
    update: handleUnary(async (request: UpdateNodeRequest) => {
      const node = find(await view(), request.id);
      if (request.availability !== '' && !AVAILABILITIES.includes(request.availability)) {
        throw new InvalidArgumentError(`Invalid availability "${request.availability}": expected active, drain or pause`);
      }
      // Applied to the record as stored (revision-checked): another gateway may write it meanwhile.
      await keeper.update(node.id, (current) => {
        const labelOverrides = { ...current.labelOverrides, ...request.labelAdd };
        for (const k of request.labelRm) labelOverrides[k] = null;
        return { ...current, availability: request.availability || current.availability, labelOverrides };
      });
      return find(await view(), node.id);
    }),
    remove: handleUnary(async (request: RemoveNodeRequest) => {
      const node = find(await view(), request.id);
      if (node.status === 'ready' && !request.force) {
        throw new FailedPreconditionError(`Cannot remove node "${node.hostname}": it is ready (stop its agent first, or use --force)`);
      }
      await keeper.forget(node.id);
      await options.revoke?.(node.id);
      return {};
    }),
  };
  return server as unknown as grpc.UntypedServiceImplementation;
}
