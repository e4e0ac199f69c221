import type { ClusterStore } from '@berth/events';
import { ContainersService, ListContainersRequest, type AgentAnnouncement, type ListContainersResponse } from '@berth/proto';
import { warnOnFailure, type Logger } from '@berth/log';
import type { ClusterRouter } from './cluster-router.js';
import { isMovable, moveContainer, type MoveOps } from './container-move.js';
import type { NodeKeeperEvents } from './node-keeper.js';

/**
 * What happens when a host is lost and when it comes back (node-keeper.ts tells):
 * - down: every container placed there (placement records in KV) that has a restart policy or
 *   belongs to a Compose project is moved (container-move.ts): created again, with the same request
 *   and name, on a live host placement chooses (its image brought there), and started; the record
 *   then names the new container and host.
 *   A container whose name is placed on another host already (moved by a lease holder that died
 *   before forgetting the original's record) is only forgotten: run again, this moves nothing twice.
 * - back: the containers it still has whose name now runs elsewhere (moved while it was down) are
 *   stopped and removed from it, so a name runs once in the cluster.
 */
export function reschedulingEvents(o: { router: ClusterRouter; store: ClusterStore; ops: MoveOps; log: Logger }): Pick<NodeKeeperEvents, 'onDown' | 'onUp'> {
  const { router, store, log } = o;
  return {
    async onDown(hostId) {
      const all = await store.placements();
      // A name placed on another host too: moved already, by a lease holder that died before it
      // forgot the original's record (the lease's next holder runs this again). Only forgotten now.
      const movedAlready = new Set(all.filter((p) => p.hostId !== hostId && p.name !== '').map((p) => p.name));
      const placements = all.filter((p) => p.hostId === hostId && isMovable(p));
      await Promise.all(
        placements.map(async (p) => {
          if (movedAlready.has(p.name)) {
            await o.ops.forget(p).catch(warnOnFailure(log, { container: p.id }, 'Cannot forget the placement of a container'));
            return;
          }
          const started = Date.now();
          try {
            const r = await moveContainer(p, o.ops, 'lost');
            log.info({ container: p.id, name: p.name, replacement: r.id, host: r.hostname, ms: Date.now() - started }, 'Rescheduled a container of a lost host');
          } catch (err) {
            log.error({ container: p.id, name: p.name, err }, 'Cannot reschedule a container of a lost host');
          }
        }),
      );
    },
    async onUp(host: AgentAnnouncement) {
      const placements = await store.placements();
      const here = new Set(placements.filter((p) => p.hostId === host.hostId).map((p) => p.id));
      const elsewhere = new Map(placements.filter((p) => p.hostId !== host.hostId && p.name !== '').map((p) => [p.name, p]));
      const list = await router.call<ListContainersResponse>(host, ContainersService.list, ListContainersRequest.fromPartial({ all: true }));
      for (const c of list.containers) {
        const name = c.names[0]?.replace(/^\//, '') ?? '';
        if (here.has(c.id) || !elsewhere.has(name)) continue;
        await router.call(host, ContainersService.remove, { id: c.id, force: true, volumes: false }, { timeoutMs: 30_000 });
        log.info({ container: c.id, name, host: host.hostname }, 'Removed a container from a host back after being down: it runs on another host now');
      }
    },
  };
}
