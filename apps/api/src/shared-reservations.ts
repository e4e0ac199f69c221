import { randomBytes } from 'node:crypto';
import { withDeadline, type LedgerNode, type PlacementLedger } from '@berth/events';
import { warnOnFailure, type Logger } from '@berth/log';
import type { Resources } from './placement.js';
import { PlacementReservations } from './placement-reservations.js';

/** How long a placement waits for the ledger in KV before deciding from this gateway's own reservations only. */
const LEDGER_TIMEOUT_MS = 2_000;
/** Decisions refused by the ledger (another gateway placed on the node) before one is taken from this gateway's view alone. */
const DECISION_ATTEMPTS = 5;

/** The other gateways' placements in progress, as read for one decision (undefined: NATS did not answer). */
export type LedgerView = Map<string, LedgerNode> | undefined;

/**
 * Placements in progress over every gateway: this gateway's own (placement-reservations.ts, in
 * memory: reserved with no await after the choice) and the others', read from the ledger in KV
 * (libs/events placement-ledger.ts). A decision is recorded in the ledger revision-checked against
 * the node's key as read: refused, another gateway placed on that node meanwhile, and the caller
 * decides again from a fresh read. NATS away (no answer within 2 s): this gateway's own only.
 */
export class SharedReservations {
  readonly local = new PlacementReservations();

  constructor(
    private readonly ledger: Pick<PlacementLedger, 'read' | 'add' | 'finish'> | undefined,
    private readonly o: { by: string; log: Logger },
  ) {}

  /**
   * Decides where a container goes and reserves it: `choose` picks among `hostIds` from the others'
   * placements in progress as read (count() adds them to a node's own); reserved here with no await
   * after the choice, then recorded in the ledger; refused there (another gateway placed on that
   * node since the read), read again and decided again. @returns the choice and the call that ends
   * its reservation (once its create ended, made or failed).
   */
  async place<T extends { hostId: string }>(o: { hostIds: string[]; service: string; demand: Resources }, choose: (view: LedgerView) => T): Promise<{ chosen: T; release: () => void }> {
    for (let attempt = 1; ; attempt++) {
      const view = await this.read(o.hostIds);
      const chosen = choose(view);
      const release = await this.reserve(attempt < DECISION_ATTEMPTS ? view : undefined, chosen.hostId, o.service, o.demand);
      if (release) return { chosen, release };
    }
  }

  /** The other gateways' placements in progress on the nodes `hostIds`. */
  async read(hostIds: string[]): Promise<LedgerView> {
    if (!this.ledger) return undefined;
    return withDeadline(this.ledger.read(hostIds), LEDGER_TIMEOUT_MS, () => new Error(`no answer from NATS within ${LEDGER_TIMEOUT_MS / 1000} s`)).catch((err: unknown) => {
      this.o.log.warn({ err }, 'Cannot read the placements in progress from NATS KV: deciding from this gateway\'s own');
      return undefined;
    });
  }

  /** Like PlacementReservations.count, over this gateway's reservations and the others' in `view`. */
  count(view: LedgerView, hostId: string, service: string, listedAt: number): { all: number; sameService: number; demand: Resources } {
    const own = this.local.count(hostId, service, listedAt);
    for (const e of view?.get(hostId)?.entries ?? []) {
      if (e.by === this.o.by || (e.doneAt !== undefined && e.doneAt <= listedAt)) continue;
      own.all++;
      if (service !== '' && e.service === service) own.sameService++;
      own.demand.memoryBytes += e.memoryBytes;
      own.demand.nanoCpus += e.nanoCpus;
    }
    return own;
  }

  /**
   * Reserves `hostId` (chosen from `view`): at once here, then in the ledger. @returns the call
   * that ends it, or undefined when another gateway placed on that node since `view` was read.
   */
  async reserve(view: LedgerView, hostId: string, service: string, demand: Resources): Promise<(() => void) | undefined> {
    const release = this.local.reserve(hostId, service, demand);
    if (!this.ledger || view === undefined) return () => release();
    const id = randomBytes(8).toString('hex');
    const entry = { id, by: this.o.by, service, memoryBytes: demand.memoryBytes, nanoCpus: demand.nanoCpus, at: Date.now() };
    const ledger = this.ledger;
    const adding = ledger.add(hostId, entry, view.get(hostId));
    const added = await withDeadline(adding, LEDGER_TIMEOUT_MS, () => new Error(`no answer from NATS within ${LEDGER_TIMEOUT_MS / 1000} s`)).catch((err: unknown) => {
      this.o.log.warn({ err, host: hostId }, 'Cannot record a placement in progress in NATS KV: other gateways do not see it');
      // Recorded late: ended at once (this create goes on without it; left, it would count for 5 min).
      void adding.then((late) => (late ? ledger.finish(hostId, id) : undefined)).catch(warnOnFailure(this.o.log, { host: hostId }, 'Cannot end a placement in progress in NATS KV'));
      return undefined;
    });
    if (added === false) {
      release({ cancel: true });
      return undefined;
    }
    return () => {
      release();
      // Not waited for: a create must not wait for NATS (an entry not ended counts until it is abandoned, 5 min).
      if (added) void ledger.finish(hostId, id).catch(warnOnFailure(this.o.log, { host: hostId }, 'Cannot end a placement in progress in NATS KV'));
    };
  }
}
