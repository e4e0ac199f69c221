import type { Resources } from './placement.js';

/**
 * Containers being placed: a placement decides from each host's container list, read before the
 * decision, so creates running side by side (compose starts a service's replicas at once) would all
 * see the same counts and pick the same host. Each decision reserves its host at once (synchronously
 * with the choice); a reservation counts for a later decision while its create runs, and after it
 * ended for decisions whose lists were read before that end (those lists may not show it yet).
 */
interface Entry {
  hostId: string;
  service: string;
  demand: Resources;
  doneAt?: number;
}

export class PlacementReservations {
  private readonly entries = new Set<Entry>();

  /**
   * Reserves `hostId` for a container of `service` ('' for none) that needs `demand`. @returns the
   * call that ends it (`cancel`: a decision taken back before its create began, forgotten at once).
   */
  reserve(hostId: string, service: string, demand: Resources = { memoryBytes: 0, nanoCpus: 0 }): (o?: { cancel?: boolean }) => void {
    const entry: Entry = { hostId, service, demand };
    this.entries.add(entry);
    return (o = {}) => {
      if (o.cancel) this.entries.delete(entry);
      else entry.doneAt = Date.now();
    };
  }

  /** The reservations a decision whose lists were read from `listedAt` must add: all, and of `service`. */
  count(hostId: string, service: string, listedAt: number): { all: number; sameService: number; demand: Resources } {
    const now = Date.now();
    let all = 0;
    let sameService = 0;
    const demand = { memoryBytes: 0, nanoCpus: 0 };
    for (const e of this.entries) {
      if (e.doneAt !== undefined && now - e.doneAt > 60_000) this.entries.delete(e);
      else if (e.hostId === hostId && (e.doneAt === undefined || e.doneAt > listedAt)) {
        all++;
        if (service !== '' && e.service === service) sameService++;
        demand.memoryBytes += e.demand.memoryBytes;
        demand.nanoCpus += e.demand.nanoCpus;
      }
    }
    return { all, sameService, demand };
  }
}
