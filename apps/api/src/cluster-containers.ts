import { hostname } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { ConflictError, errorKindOf } from '@berth/errors';
import { withDeadline, type ClusterStore } from '@berth/events';
import { warnOnFailure, type Logger } from '@berth/log';
import {
  ContainersService,
  CreateContainerRequest,
  forwardService,
  handleUnary,
  NODE_METADATA,
  placementHints,
  type AgentAnnouncement,
  type ContainerSummary,
  type CreateContainerResponse,
  type Filter,
  ListContainersRequest,
  ListContainersResponse,
  type PruneContainersResponse,
  type RemoveContainerRequest,
  type RemoveContainerResponse,
  type StreamInput,
  type CopyToInput,
} from '@berth/proto';
import { answered, hostError, type ClusterRouter, type HostAnswer } from './cluster-router.js';
import { bringImage } from './image-follow.js';
import { choosePlacement, findNode, type PlacementCandidate } from './placement.js';
import { RecentPlacements } from './recent-placements.js';
import { runAttachedHandler } from './run-attached.js';
import type { SharedReservations } from './shared-reservations.js';

/** What placement needs to know of the nodes besides their announcements (node-keeper.ts). */
export interface NodeView {
  /**
   * Reads these nodes' records from KV again: a placement decides on what KV says now, not on a
   * copy up to a tick old (another gateway may have just changed a node's availability or labels).
   */
  refresh(hostIds: string[]): Promise<void>;
  availability(hostId: string): string;
  /** Whether the node's record says it is ready (false: down, or no record: not a node of the cluster, as one removed with `node rm`). */
  ready(hostId: string): boolean;
  /** How many nodes have a record (ready, down or draining: each node of the cluster until `node rm`). */
  known(): number;
  labels(host: AgentAnnouncement): Record<string, string>;
  /** Placements in progress, this gateway's and the others' (shared-reservations.ts). */
  reservations: SharedReservations;
}

/** Who claims a name (ClusterStore.claimName): this gateway process. */
const CLAIMANT = `${hostname()}/${process.pid}`;
const CLAIM_TIMEOUT_MS = 3_000;
const RESTARTING_POLICIES = new Set(['always', 'unless-stopped', 'on-failure']);
const PROJECT_LABEL = 'com.docker.compose.project';
const SERVICE_LABEL = 'com.docker.compose.service';
/** The lists a placement reads: every container of each host, stopped ones included (their names are taken). */
const LIST_ALL = ListContainersRequest.fromPartial({ all: true });

/**
 * The gateway's Containers service over the cluster: `Create` places the container (placement.ts:
 * pinned node, constraints, spread), brings its image there (image-follow.ts) and records the
 * placement in KV; `List` and `Prune` fan out to every live host and merge (each container with
 * its `node`, and a `node=` filter); every other call goes to the host that has the container it
 * names (ClusterRouter.locate), streams (exec, attach, copy-to) by their first message.
 */
export function clusterContainersService(o: { router: ClusterRouter; store: ClusterStore; nodes: NodeView; log: Logger }): grpc.UntypedServiceImplementation {
  const { router } = o;
  const placed = new RecentPlacements();
  // The host each client handed to a forwarded call stands for: an agent that does not answer is
  // `host "N" is unavailable`, as `locate` says it, not the CLI's "Cannot connect to the platform".
  const hostOfClient = new WeakMap<grpc.Client, AgentAnnouncement>();
  const clientOf = (host: AgentAnnouncement) => {
    const client = router.client(host.address);
    hostOfClient.set(client, host);
    return client;
  };
  const routeByRef = async (_method: string, call: { request?: unknown; metadata: grpc.Metadata }, first?: unknown): Promise<grpc.Client> => {
    const ref = containerRef(call.request, first);
    const host = await knownHost(ref, call.metadata);
    if (host !== undefined) return clientOf(host);
    const [found] = await router.locate(ContainersService.inspect, { id: ref }, call.metadata);
    return clientOf(found!.host);
  };
  /**
   * The host of container `ref` without asking every host (`locate`: an Inspect each, a round trip):
   * one created here a moment ago (`run`'s start or attach), or the only live host (which answers
   * "No such container" itself). None when the call is pinned to a node.
   */
  const knownHost = async (ref: string, metadata: grpc.Metadata): Promise<AgentAnnouncement | undefined> => {
    if (metadata.get(NODE_METADATA).length > 0) return undefined;
    const live = await router.live();
    if (live.length === 1) return live[0];
    const hostId = placed.hostOf(ref);
    return hostId === undefined ? undefined : live.find((h) => h.hostId === hostId);
  };
  const upstreamError = (err: grpc.ServiceError, client: grpc.Client) => {
    const host = hostOfClient.get(client);
    return host !== undefined && err.code === grpc.status.UNAVAILABLE ? hostError(host, err) : err;
  };
  return {
    ...forwardService(ContainersService, routeByRef, { routeByFirstMessage: true, upstreamError }),
    create: handleUnary<CreateContainerRequest, CreateContainerResponse>(async (request, call) => {
      // With `start` (`run -d`), the agent starts it too: its answer says how that went.
      const { hostId, hostname: _hostname, ...created } = await placeContainer(o, request, call.metadata);
      placed.remember(created.id, hostId);
      return created;
    }),
    runAttached: runAttachedHandler({
      client: clientOf,
      placed,
      upstreamError,
      place: (request, metadata, createOn) =>
        placeContainer(o, request, metadata, { createOn: async (host) => ({ ...(await createOn(host)), started: false, startFailure: undefined }) }),
    }),
    list: handleUnary<ListContainersRequest, ListContainersResponse>(async (request) => ({ containers: await listContainers(router, request) })),
    prune: handleUnary(async (request) => {
      const answers = await router.fanOut<PruneContainersResponse>(ContainersService.prune, request, { timeoutMs: 60_000 });
      const ok = answered(answers);
      return { deleted: ok.flatMap((r) => r.deleted), spaceReclaimed: ok.reduce((n, r) => n + r.spaceReclaimed, 0) };
    }),
    remove: handleUnary<RemoveContainerRequest, RemoveContainerResponse>(async (request, call) => {
      const known = await knownHost(request.id, call.metadata);
      const host = known ?? (await router.locate(ContainersService.inspect, { id: request.id }, call.metadata))[0]!.host;
      const { id } = await router.call<RemoveContainerResponse>(host, ContainersService.remove, request, { timeoutMs: 60_000 });
      // An agent that answers Empty names no id: its placement record stays (it names a container that is gone).
      if (id === '') return { id };
      placed.forget(id);
      // Not waited for: a remove must not wait for NATS (it may be down; the record is then stale,
      // and a stale record only names a container that is gone).
      void o.store.deletePlacement(id).catch(warnOnFailure(o.log, { container: id }, 'Cannot forget the placement of a container'));
      return { id };
    }),
  } as grpc.UntypedServiceImplementation;
}

/** The container a request names: its `id`, an exec's or attach's `container`, a copy's target. */
function containerRef(request: unknown, first: unknown): string {
  const r = request as { id?: unknown } | undefined;
  if (typeof r?.id === 'string') return r.id;
  const input = (first as StreamInput | CopyToInput | undefined)?.input;
  if (input?.$case === 'exec' || input?.$case === 'attach') return input.value.container;
  if (input?.$case === 'spec') return input.value.id;
  return '';
}

/**
 * Places and creates one container (`run`, `create`, compose, a moved container again): the name
 * must be free on every live host (but for the container `replacing` names: a drained node's
 * container keeps its name until its replacement is ready, container-move.ts); placement chooses
 * among the live hosts that answered; the image is brought there; the placement is recorded in KV
 * (with the request and constraints, to create it again).
 */
export async function placeContainer(
  o: { router: ClusterRouter; store: ClusterStore; nodes: NodeView; log: Logger },
  request: CreateContainerRequest,
  metadata: grpc.Metadata,
  options: { replacing?: string; createOn?: (host: AgentAnnouncement) => Promise<CreateContainerResponse> } = {},
): Promise<CreateContainerResponse & { hostId: string; hostname: string }> {
  const name = request.spec?.name ?? '';
  // Claimed before the lists are read and given back once the container exists (or its create
  // failed): two creates of one name, through two gateways, cannot both pass the name check.
  const unclaim = await claimName(o, name);
  try {
    const hosts = await o.router.live();
    const listedAt = Date.now();
    // The lists serve the name check across hosts and the spread over them. With one host and no
    // per-node replica limit there is no choice to make, and that host checks the name itself (the
    // same conflict error): listing its every container (one more round trip, and the agent's work
    // for each container it has) is left out.
    // A cluster with one host live now is still a cluster: its host's room is weighed (createPlaced).
    const hints = placementHints(metadata);
    const single = hosts.length === 1 && o.nodes.known() <= 1 && options.replacing === undefined && !hints.maxReplicasPerNode;
    const lists = single
      ? [{ host: hosts[0]!, result: ListContainersResponse.fromPartial({}) }]
      : await pinnedListed(o, await o.router.fanOut<ListContainersResponse>(ContainersService.list, LIST_ALL, { hosts }), hints.node);
    return await createPlaced(o, request, metadata, { ...options, hosts, lists, listedAt, name });
  } finally {
    await unclaim();
  }
}

/**
 * The lists, the one of the node a create is pinned to (`run --node N`) answered: a ready node (its
 * record says so) whose list did not come is asked again, waiting for its connection (grpc-js fails a
 * call at once while its channel waits out a reconnect backoff, as a gateway's channel to an agent
 * that has just restarted does), within the lists' deadline. Still no answer: its error (`host "N" is
 * unavailable: …`), not "No such node". Any other node (not live, not answering, without a record:
 * one removed with `node rm` that still announces itself) is placement's to refuse.
 */
async function pinnedListed(
  o: { router: ClusterRouter; nodes: NodeView },
  lists: Array<HostAnswer<ListContainersResponse>>,
  ref: string | undefined,
): Promise<Array<HostAnswer<ListContainersResponse>>> {
  if (ref === undefined) return lists;
  let pinned: AgentAnnouncement;
  try {
    pinned = findNode(lists.map((a) => a.host), ref);
  } catch {
    return lists;
  }
  if (lists.find((a) => a.host === pinned)?.result !== undefined || !o.nodes.ready(pinned.hostId)) return lists;
  const result = await o.router.call<ListContainersResponse>(pinned, ContainersService.list, LIST_ALL, { metadata: new grpc.Metadata({ waitForReady: true }) });
  return lists.map((a) => (a.host === pinned ? { host: pinned, result } : a));
}

/** A create's name claimed in KV (ClusterStore.claimName). @returns the call that gives it back. */
async function claimName(o: { store: ClusterStore; log: Logger }, name: string): Promise<() => Promise<void>> {
  const none = async () => {};
  if (name === '') return none;
  const claim = o.store.claimName(name, CLAIMANT);
  let release: (() => Promise<void>) | undefined;
  try {
    release = await withDeadline(claim, CLAIM_TIMEOUT_MS, () => new Error(`no answer from NATS within ${CLAIM_TIMEOUT_MS / 1000} s`));
  } catch (err) {
    // NATS away: the create goes on unclaimed (a create must not wait for NATS); a claim made late is given back.
    void claim.then((late) => late?.()).catch(warnOnFailure(o.log, { name }, 'Cannot give back a late container name claim'));
    o.log.warn({ name, err }, 'Cannot claim a container name in NATS KV: created without the claim');
    return none;
  }
  if (!release) {
    throw new ConflictError(`Conflict. The container name "/${name}" is already in use: another create of that name is in progress. You have to remove (or rename) that container to be able to reuse that name.`);
  }
  const given = release;
  return () => given().catch(warnOnFailure(o.log, { name }, 'Cannot give back a container name claim'));
}

async function createPlaced(
  o: { router: ClusterRouter; store: ClusterStore; nodes: NodeView; log: Logger },
  request: CreateContainerRequest,
  metadata: grpc.Metadata,
  options: { replacing?: string; createOn?: (host: AgentAnnouncement) => Promise<CreateContainerResponse>; hosts: AgentAnnouncement[]; lists: Array<{ host: AgentAnnouncement; result?: ListContainersResponse }>; listedAt: number; name: string },
): Promise<CreateContainerResponse & { hostId: string; hostname: string }> {
  const { router } = o;
  const { hosts, lists, listedAt, name } = options;
  const spec = request.spec;
  for (const a of lists) {
    const taken = a.result?.containers.find((c) => c.id !== options.replacing && c.names.some((n) => n.replace(/^\//, '') === name));
    if (name !== '' && taken) {
      throw new ConflictError(
        `Conflict. The container name "/${name}" is already in use by container "${taken.id}"${hosts.length > 1 ? ` on node "${a.host.hostname}"` : ''}. You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
  }
  const project = spec?.labels[PROJECT_LABEL];
  const service = spec?.labels[SERVICE_LABEL];
  const serviceKey = service === undefined ? '' : `${project ?? ''}/${service}`;
  const hints = placementHints(metadata);
  // What it reserves: its memory reservation, else its memory limit, and its CPUs (as the agent
  // counts them). Weighed in a cluster only (more than one node, whether live or not, whether or not
  // each listed its containers in time): one host takes what docker would (`-m` above the host's
  // memory is a limit never reached, not a refusal).
  const demand = { memoryBytes: Number(spec?.resources?.memoryReservation || spec?.resources?.memory || 0), nanoCpus: Number(spec?.resources?.nanoCpus ?? 0) };
  const weighed = (lists.length > 1 || o.nodes.known() > 1) && (demand.memoryBytes > 0 || demand.nanoCpus > 0) ? demand : undefined;
  const hostIds = lists.map((a) => a.host.hostId);
  await o.nodes.refresh(hostIds);
  // Decided again when another gateway placed on the chosen node meanwhile; strict (refused without
  // the ledger) when the others' placements decide whether a node has room (shared-reservations.ts).
  const strict = weighed !== undefined || (hints.maxReplicasPerNode ?? 0) > 0;
  const { chosen, release } = await o.nodes.reservations.place({ hostIds, service: serviceKey, demand, strict }, (view) => {
    const candidates: Array<PlacementCandidate & { host: AgentAnnouncement }> = lists
      .filter((a) => a.result !== undefined)
      .map((a) => {
        const inFlight = o.nodes.reservations.count(view, a.host.hostId, serviceKey, listedAt);
        const containers = a.result!.containers;
        return {
          host: a.host,
          hostId: a.host.hostId,
          hostname: a.host.hostname,
          labels: o.nodes.labels(a.host),
          role: a.host.node?.role,
          availability: o.nodes.availability(a.host.hostId),
          containers: containers.length + inFlight.all,
          sameService: (service === undefined ? 0 : containers.filter((c) => c.labels[SERVICE_LABEL] === service && c.labels[PROJECT_LABEL] === project).length) + inFlight.sameService,
          capacity: a.host.node ? { memoryBytes: Number(a.host.node.memoryBytes), nanoCpus: a.host.node.cpus * 1e9 } : undefined,
          reserved: {
            memoryBytes: containers.reduce((sum, c) => sum + Number(c.reservedMemory), inFlight.demand.memoryBytes),
            nanoCpus: containers.reduce((sum, c) => sum + Number(c.reservedNanoCpus), inFlight.demand.nanoCpus),
          },
        };
      });
    return choosePlacement(candidates, { ...hints, demand: weighed }) as PlacementCandidate & { host: AgentAnnouncement };
  });
  let created: CreateContainerResponse;
  try {
    // RunAttached's create is the agent's RunAttached stream (run-attached.ts).
    const create = () =>
      options.createOn ? options.createOn(chosen.host) : router.call<CreateContainerResponse>(chosen.host, ContainersService.create, request, { timeoutMs: 60_000 });
    // Created at once when the host has the image (a create that finds none makes nothing); else
    // the image is brought from another host and the create tried again.
    created = await create().catch(async (err: unknown) => {
      if (errorKindOf(err) !== 'not-found' || !(await bringImage(router, chosen.host, spec?.image ?? '', o.log))) throw err;
      return create();
    });
  } finally {
    release();
  }
  // Not waited for: a create must not wait for NATS (down, the container runs but is not rescheduled
  // if its host dies before the record is written).
  void o.store
    .putPlacement({
      id: created.id,
      name,
      hostId: chosen.hostId,
      // What creates it again elsewhere (container-move.ts), which starts it after its own checks.
      request: Buffer.from(CreateContainerRequest.encode({ ...request, start: false }).finish()).toString('base64'),
      restart: RESTARTING_POLICIES.has(spec?.restartPolicy?.name ?? ''),
      constraints: hints.constraints,
      preferences: hints.preferences,
      maxReplicasPerNode: hints.maxReplicasPerNode,
      createdAt: Date.now(),
    })
    .catch(warnOnFailure(o.log, { container: created.id, host: chosen.hostname }, 'Cannot record the placement of a container'));
  return { ...created, hostId: chosen.hostId, hostname: chosen.hostname };
}

/**
 * `ps` over the cluster: every live host's list (a `node=` filter, by name or id, keeps some hosts
 * and is not sent on), each container with its node, newest first, then `-n`/`-l` over the merge.
 * A host that does not answer is left out (its containers are not listed) and logged by the caller.
 */
export async function listContainers(router: ClusterRouter, request: ListContainersRequest): Promise<ContainerSummary[]> {
  const nodeFilter = request.filters.filter((f: Filter) => f.key === 'node').map((f) => f.value);
  const rest = request.filters.filter((f: Filter) => f.key !== 'node');
  const hosts = (await router.live()).filter((h) => nodeFilter.length === 0 || nodeFilter.some((v) => v === h.hostname || h.hostId.startsWith(v)));
  const answers = await router.fanOut<ListContainersResponse>(ContainersService.list, { ...request, filters: rest }, { hosts });
  // A host's refusal (a bad filter) is the caller's error; a host that did not answer is left out.
  answered(answers);
  // `created` is in seconds: a stable sort keeps each host's own order (docker's, to the
  // nanosecond) among containers created in the same second.
  const merged = answers
    .filter((a) => a.result !== undefined)
    .flatMap((a) => a.result!.containers.map((c) => ({ ...c, node: a.host.hostname })))
    .sort((a, b) => b.created - a.created);
  const limit = request.latest ? 1 : request.limit > 0 ? request.limit : 0;
  return limit > 0 ? merged.slice(0, limit) : merged;
}
