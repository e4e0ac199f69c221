import type { ClusterStore, DrainRecord, PlacementRecord } from '@berth/events';
import type { Logger } from '@berth/log';
import { ContainersService, ListContainersRequest, type ListContainersResponse } from '@berth/proto';
import type { ClusterRouter } from './cluster-router.js';
import { isMovable, moveContainer, type MoveOps, type Original, type Replacement } from './container-move.js';

/** A drained node's container to move, and whether it runs (its replacement is then started and waited for). */
export interface DrainCandidate {
  placement: PlacementRecord;
  original: Exclude<Original, 'lost'>;
  /** Its replacement, made by a move a dead lease holder cut short (its name placed on another live node): the move goes on from there. */
  replacement?: Replacement;
}

/** Container states whose replacement is started (and waited for) before the original stops. */
const RUNNING_STATES = new Set(['running', 'restarting', 'paused']);

/**
 * Moves a drained node's containers one at a time (swarm's drain with update parallelism 1): the
 * next one starts moving only once the previous one's replacement is ready and the original gone
 * (moveContainer). One that cannot move (no node fits, its replacement did not get ready) stays,
 * with the reason. Stops before the next container when `draining()` turns false (the node's
 * availability changed). `progress` is told after every container.
 * @returns the drain's end state, or undefined when it was stopped.
 */
export async function drainContainers(
  candidates: DrainCandidate[],
  o: { move: (c: DrainCandidate) => Promise<Replacement>; draining: () => boolean; progress: (d: DrainRecord) => Promise<void>; log: Logger },
): Promise<DrainRecord | undefined> {
  const status: DrainRecord = { state: 'draining', moved: 0, staying: [], updatedAt: Date.now() };
  for (const c of candidates) {
    if (!o.draining()) return undefined;
    const p = c.placement;
    const started = Date.now();
    try {
      const r = await o.move(c);
      status.moved++;
      o.log.info({ container: p.id, name: p.name, replacement: r.id, host: r.hostname, ms: Date.now() - started }, 'Moved a container off a drained node');
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      status.staying.push({ id: p.id, name: p.name, reason });
      o.log.warn({ container: p.id, name: p.name, reason }, 'A container stays on a drained node: it cannot move');
    }
    await o.progress({ ...status, staying: [...status.staying], updatedAt: Date.now() });
  }
  const end: DrainRecord = { ...status, state: status.staying.length > 0 ? 'incomplete' : 'drained', updatedAt: Date.now() };
  await o.progress(end);
  return end;
}

/** What the drainer needs of the node keeper (node-keeper.ts). */
export interface DrainKeeper {
  availability(hostId: string): string;
  /** Records a drain's progress on the node (only while its availability is still drain). */
  setDrain(hostId: string, drain: DrainRecord): Promise<void>;
  /** Whether this gateway holds the cluster duties' lease (a drain stops before its next container once it does not). */
  leads(): boolean;
}

/**
 * Drains nodes (`node update --availability drain`): each movable container on the node (a restart
 * policy or a Compose project's, as for a lost host), oldest first, moved to another active node
 * (drainContainers). One drain per node at a time; asked again meanwhile, it runs again after.
 * Only the gateway holding the cluster duties' lease drains (node-keeper.ts).
 */
export class NodeDrainer {
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();

  constructor(private readonly o: { router: ClusterRouter; store: ClusterStore; keeper: () => DrainKeeper; ops: MoveOps; log: Logger }) {}

  /** Starts draining `hostId` (in the background). `ifIdle`: not again after one running now. */
  drain(hostId: string, o: { ifIdle?: boolean } = {}): void {
    if (this.running.has(hostId)) {
      if (!o.ifIdle) this.again.add(hostId);
      return;
    }
    const run = this.run(hostId)
      .catch((err: unknown) => this.o.log.error({ host: hostId, err }, 'Cannot drain a node'))
      .finally(() => {
        this.running.delete(hostId);
        if (this.again.delete(hostId)) this.drain(hostId);
      });
    this.running.set(hostId, run);
  }

  private async run(hostId: string): Promise<void> {
    const { router, store, log } = this.o;
    const keeper = this.o.keeper();
    // Another gateway took the lease (this one lost NATS): it resumes the drain from the records.
    const draining = () => keeper.availability(hostId) === 'drain' && keeper.leads();
    if (!draining()) return;
    const host = (await router.live()).find((h) => h.hostId === hostId);
    if (!host) return; // down: its containers are rescheduled as a lost host's
    // Only the containers it still has (a record may outlive an `--rm` container).
    const list = await router.call<ListContainersResponse>(host, ContainersService.list, ListContainersRequest.fromPartial({ all: true }));
    const states = new Map(list.containers.map((c) => [c.id, c.state]));
    const placements = await store.placements();
    const live = new Map((await router.live()).map((h) => [h.hostId, h]));
    const elsewhere = new Map(placements.filter((p) => p.hostId !== hostId && p.name !== '' && live.has(p.hostId)).map((p) => [p.name, p]));
    const replacementOf = (p: PlacementRecord): Replacement | undefined => {
      const r = p.name === '' ? undefined : elsewhere.get(p.name);
      return r && { id: r.id, hostId: r.hostId, hostname: live.get(r.hostId)!.hostname };
    };
    const candidates: DrainCandidate[] = placements
      .filter((p) => p.hostId === hostId && isMovable(p) && states.has(p.id))
      .sort((a, b) => a.createdAt - b.createdAt)
      .map((placement) => ({ placement, original: RUNNING_STATES.has(states.get(placement.id) ?? '') ? 'running' : 'stopped', replacement: replacementOf(placement) }));
    log.info({ host: hostId, hostname: host.hostname, containers: candidates.length }, 'Draining a node');
    const end = await drainContainers(candidates, {
      move: (c) => moveContainer(c.placement, this.o.ops, c.original, { replacement: c.replacement }),
      draining,
      progress: (d) => keeper.setDrain(hostId, d),
      log,
    });
    if (end) log.info({ host: hostId, hostname: host.hostname, state: end.state, moved: end.moved, staying: end.staying.length }, 'Drained a node');
  }
}
