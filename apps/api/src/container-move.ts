import * as grpc from '@grpc/grpc-js';
import { FailedPreconditionError, UnavailableError } from '@berth/errors';
import type { ClusterStore, PlacementRecord } from '@berth/events';
import { warnOnFailure, type Logger } from '@berth/log';
import { addPlacementHints, ContainersService, CreateContainerRequest, type AgentAnnouncement, type WaitHealthResponse } from '@berth/proto';
import { placeContainer, type NodeView } from './cluster-containers.js';
import type { ClusterRouter } from './cluster-router.js';

/** How long a drained node's container's replacement may take to be healthy (or running, without a healthcheck). */
const READY_TIMEOUT_MS = 5 * 60_000;
/** Docker's default stop timeout (seconds), when the container sets none. */
const DEFAULT_STOP_TIMEOUT_S = 10;

/** A container's replacement on another node. */
export interface Replacement {
  id: string;
  hostId: string;
  hostname: string;
}

/**
 * The original of a moved container: `lost` (its host is down: nothing to wait for or stop),
 * `running` (a drained node's: the replacement must be ready before it stops) or `stopped` (a
 * drained node's that does not run: its replacement is created, not started).
 */
export type Original = 'lost' | 'running' | 'stopped';

/** The steps of moving a container, on the cluster (clusterMoveOps) or a unit test's record. */
export interface MoveOps {
  /** Creates the replacement on another node (placement with its constraints; its image brought there; the placement recorded). */
  place(p: PlacementRecord, o: { replacing: boolean }): Promise<Replacement>;
  start(r: Replacement): Promise<void>;
  /** Resolves once the replacement runs and, with a healthcheck, is healthy; rejects saying why not. */
  ready(r: Replacement, p: PlacementRecord): Promise<void>;
  /** Stops the original (its stop timeout) and removes it from its (live) host. */
  retire(p: PlacementRecord): Promise<void>;
  /** Removes a replacement that did not get ready. */
  discard(r: Replacement): Promise<void>;
  /** Forgets the original's placement record. */
  forget(p: PlacementRecord): Promise<void>;
}

/**
 * Moves one container to another node, the one implementation for a lost host (rescheduling.ts)
 * and a drained one (node-drain.ts): its replacement is created from its recorded request (same
 * name) where placement says (or, `o.replacement`, one a move cut short already made: a lease
 * holder that died mid-move), started, and, when the original still runs, waited for until ready;
 * only then is the original stopped and removed. A replacement that does not get ready is removed
 * and the original left as it was (the error says why). The original's record is forgotten last.
 */
export async function moveContainer(p: PlacementRecord, ops: MoveOps, original: Original, o: { replacement?: Replacement } = {}): Promise<Replacement> {
  const replacement = o.replacement ?? (await ops.place(p, { replacing: original !== 'lost' }));
  if (original !== 'stopped') {
    try {
      await ops.start(replacement);
      if (original === 'running') await ops.ready(replacement, p);
    } catch (err) {
      if (original !== 'lost') await ops.discard(replacement);
      throw err;
    }
  }
  if (original !== 'lost') await ops.retire(p);
  await ops.forget(p);
  return replacement;
}

/** The containers moved off a lost or drained node: a restart policy, or a Compose project's. */
export function isMovable(p: PlacementRecord): boolean {
  if (p.restart) return true;
  try {
    return CreateContainerRequest.decode(Buffer.from(p.request, 'base64')).spec?.labels['com.docker.compose.project'] !== undefined;
  } catch {
    return false; // an undecodable record is not moved
  }
}

/** MoveOps on the cluster: placement and the agents of the hosts involved. */
export function clusterMoveOps(o: { router: ClusterRouter; store: ClusterStore; nodes: NodeView; log: Logger }): MoveOps {
  const { router, store } = o;
  const hostOf = async (hostId: string, what: string): Promise<AgentAnnouncement> => {
    const host = (await router.live()).find((h) => h.hostId === hostId);
    if (!host) throw new UnavailableError(`The host of ${what} is not live any more`);
    return host;
  };
  const requestOf = (p: PlacementRecord) => CreateContainerRequest.decode(Buffer.from(p.request, 'base64'));
  return {
    async place(p, { replacing }) {
      const metadata = addPlacementHints(new grpc.Metadata(), { constraints: p.constraints, preferences: p.preferences, maxReplicasPerNode: p.maxReplicasPerNode });
      const created = await placeContainer(o, requestOf(p), metadata, replacing ? { replacing: p.id } : {});
      return { id: created.id, hostId: created.hostId, hostname: created.hostname };
    },
    async start(r) {
      await router.call(await hostOf(r.hostId, 'the replacement'), ContainersService.start, { id: r.id }, { timeoutMs: 60_000 });
    },
    async ready(r, p) {
      const answer = await router.call<WaitHealthResponse>(
        await hostOf(r.hostId, 'the replacement'),
        ContainersService.waitHealth,
        { id: r.id, until: [], timeoutMs: READY_TIMEOUT_MS },
        { timeoutMs: READY_TIMEOUT_MS + 10_000 },
      );
      if (answer.state === 'running' && (answer.status === 'healthy' || answer.status === 'none')) return;
      const why =
        answer.state !== 'running'
          ? `it is ${answer.state}${answer.state === 'exited' ? ` (exit code ${answer.exitCode})` : ''}`
          : answer.status === 'unhealthy'
            ? `it is unhealthy${answer.lastOutput ? `: ${answer.lastOutput.trim()}` : ''}`
            : `it was not healthy within ${READY_TIMEOUT_MS / 1000} s`;
      throw new FailedPreconditionError(`The replacement of "${p.name || p.id}" on node "${r.hostname}" did not get ready: ${why}`);
    },
    async retire(p) {
      const host = await hostOf(p.hostId, `container "${p.name || p.id}"`);
      const timeout = requestOf(p).spec?.stopTimeout ?? DEFAULT_STOP_TIMEOUT_S;
      await router.call(host, ContainersService.stop, { id: p.id }, { timeoutMs: (Math.max(timeout, 0) + 30) * 1000 });
      await router.call(host, ContainersService.remove, { id: p.id, force: false, volumes: false }, { timeoutMs: 60_000 });
    },
    async discard(r) {
      // Its failure is logged, not thrown: the move's own error (why it did not get ready) is the one to tell.
      const removed = hostOf(r.hostId, 'the replacement').then((host) => router.call(host, ContainersService.remove, { id: r.id, force: true, volumes: true }, { timeoutMs: 60_000 }));
      await removed.catch(warnOnFailure(o.log, { container: r.id, host: r.hostname }, 'Cannot remove the replacement of a container that did not get ready'));
      await store.deletePlacement(r.id).catch(warnOnFailure(o.log, { container: r.id }, 'Cannot forget the placement of a container'));
    },
    async forget(p) {
      await store.deletePlacement(p.id);
    },
  };
}
