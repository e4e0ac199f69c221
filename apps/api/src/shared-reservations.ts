import { randomBytes } from 'node:crypto';
import { messageOf, UnavailableError } from '@berth/errors';
import { TurnNotCome, Turns, withDeadline, type LedgerNode, type PlacementLedger } from '@berth/events';
import { warnOnFailure, type Logger } from '@berth/log';
import type { Resources } from './placement.js';
import { PlacementReservations } from './placement-reservations.js';

/** How long a placement waits for the ledger in KV (a read, a write) before it goes on from this gateway's own. */
const LEDGER_TIMEOUT_MS = 2_000;
/** How long a strict placement waits for it before it is refused (a refused create costs the user more than a slow one). */
const STRICT_LEDGER_TIMEOUT_MS = 5_000;
/** Decisions refused by the ledger (other gateways recorded placements each time) before the placement is refused. */
const DECISION_ATTEMPTS = 5;
/**
 * How long a placement waits for this gateway's previous ledger decision to end, in multiples of the
 * ledger's deadline: a decision takes at most two deadlines (a read, a write), so this is only ever
 * reached when NATS does not answer and placements queue up behind one another.
 */
const TURN_WAIT_DEADLINES = 4;

/** The other gateways' placements in progress, as read for one decision (undefined: NATS did not answer). */
export type LedgerView = Map<string, LedgerNode> | undefined;

/** What a placement asks: the nodes it chooses among, what it reserves there, and whether it must see the others'. */
export interface PlaceRequest {
  hostIds: string[];
  /** `project/service` of a Compose service's container, else ''. */
  service: string;
  demand: Resources;
  /**
   * The decision weighs what the others placed (a node's free memory or CPUs, its replicas of the
   * service): without the ledger (NATS does not answer, or other gateways kept writing the node's
   * key first) it is refused, UnavailableError, to be tried again, rather than taken from this
   * gateway's own placements only (both gateways could then take a node's last room). Otherwise
   * (only the spread is at stake) it is taken from this gateway's own.
   */
  strict: boolean;
}

/**
 * Placements in progress over every gateway: this gateway's own (placement-reservations.ts, in
 * memory: reserved with no await after the choice) and the others', read from the ledger in KV
 * (libs/events placement-ledger.ts). A decision is recorded in the ledger revision-checked against
 * the node's key as read: refused, another gateway placed on that node meanwhile, and the caller
 * decides again from a fresh read. NATS away (no answer within 5 s): a strict placement is
 * refused; any other decides from this gateway's own (no answer within 2 s, as a single host's).
 */
export class SharedReservations {
  readonly local = new PlacementReservations();
  /** This gateway's ledger decisions and changes, one at a time (inTurn). */
  private readonly turns = new Turns();

  /** `timeoutMs`: the ledger's deadline, strict or not (tests). */
  constructor(
    private readonly ledger: Pick<PlacementLedger, 'read' | 'add' | 'finish'> | undefined,
    private readonly o: { by: string; log: Logger; timeoutMs?: number },
  ) {}

  /**
   * Decides where a container goes and reserves it: `choose` picks among `hostIds` from the others'
   * placements in progress as read (count() adds them to a node's own); reserved here with no await
   * after the choice, then recorded in the ledger; refused there (the ledger changed since the
   * read: another gateway recorded a placement), read again and decided again. One read and one
   * write when no other gateway records one at the same time. This gateway's decisions take turns
   * (inTurn): the ledger refuses a write when anything was written since the read, so its own
   * placements side by side (a service's replicas) would refuse one another. @returns the choice and
   * the call that ends its reservation (once its create ended, made or failed).
   */
  async place<T extends { hostId: string; hostname: string }>(o: PlaceRequest, choose: (view: LedgerView) => T): Promise<{ chosen: T; release: () => void }> {
    for (let attempt = 1; ; attempt++) {
      const decided = await this.inTurn(o.strict, async () => {
        const view = await this.read(o.hostIds, o.strict);
        const chosen = choose(view);
        // Only the spread at stake: after as many refusals, reserved here only (the others do not see it).
        if (attempt >= DECISION_ATTEMPTS && !o.strict) return { chosen, release: (await this.reserve(undefined, chosen.hostId, o.service, o.demand)) as () => void };
        return { chosen, release: await this.reserve(view, chosen.hostId, o.service, o.demand, o.strict) };
      });
      if (!decided.ran) {
        // Its turn did not come: NATS does not answer, and this gateway's placements queue up behind it.
        if (o.strict) {
          this.o.log.warn({ err: decided.err }, 'The placements in progress cannot be read from NATS KV in time: the placement is refused');
          throw new UnavailableError(`Cannot place the container: the placements in progress cannot be read from NATS in time (${messageOf(decided.err)}); try again`, { cause: decided.err });
        }
        this.o.log.warn({ err: decided.err }, "The placements in progress cannot be read from NATS KV in time: deciding from this gateway's own");
        const chosen = choose(undefined);
        return { chosen, release: (await this.reserve(undefined, chosen.hostId, o.service, o.demand)) as () => void };
      }
      const { chosen, release } = decided.value;
      if (release) return { chosen, release };
      if (attempt >= DECISION_ATTEMPTS) {
        throw new UnavailableError(`Cannot place the container on node "${chosen.hostname}": other gateways recorded placements at the same time ${attempt} times; try again`);
      }
    }
  }

  /**
   * Runs `fn` once this gateway's previous ledger decision or change has ended; waits at most
   * TURN_WAIT_DEADLINES ledger deadlines for that, then gives up: `{ ran: false }`.
   */
  private async inTurn<R>(strict: boolean, fn: () => Promise<R>): Promise<{ ran: true; value: R } | { ran: false; err: Error }> {
    const waitMs = TURN_WAIT_DEADLINES * this.timeoutMs(strict);
    try {
      return { ran: true, value: await this.turns.run(fn, { ms: waitMs, message: `this gateway's earlier placements held the ledger for more than ${waitMs / 1000} s` }) };
    } catch (err) {
      if (err instanceof TurnNotCome) return { ran: false, err };
      throw err;
    }
  }

  /** The other gateways' placements in progress on the nodes `hostIds` (`strict`: UnavailableError when NATS does not answer). */
  async read(hostIds: string[], strict = false): Promise<LedgerView> {
    if (!this.ledger) return undefined;
    try {
      return await withDeadline(this.ledger.read(hostIds), this.timeoutMs(strict), () => this.noAnswer(strict));
    } catch (err) {
      if (strict) {
        this.o.log.warn({ err }, 'Cannot read the placements in progress from NATS KV: the placement is refused');
        throw new UnavailableError(`Cannot place the container: the placements in progress cannot be read from NATS (${messageOf(err)}); try again`, { cause: err });
      }
      this.o.log.warn({ err }, "Cannot read the placements in progress from NATS KV: deciding from this gateway's own");
      return undefined;
    }
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
   * A write that fails or gets no answer: `strict`, the reservation is taken back and
   * UnavailableError thrown; else it goes on here only (the others do not see it).
   */
  async reserve(view: LedgerView, hostId: string, service: string, demand: Resources, strict = false): Promise<(() => void) | undefined> {
    const release = this.local.reserve(hostId, service, demand);
    if (!this.ledger || view === undefined) return () => release();
    const id = randomBytes(8).toString('hex');
    const entry = { id, by: this.o.by, service, memoryBytes: demand.memoryBytes, nanoCpus: demand.nanoCpus, at: Date.now() };
    const ledger = this.ledger;
    const adding = ledger.add(hostId, entry, view.get(hostId));
    let added: boolean;
    try {
      added = await withDeadline(adding, this.timeoutMs(strict), () => this.noAnswer(strict));
    } catch (err) {
      // Recorded late: ended at once (left, it would count for 5 min).
      void adding.then((late) => (late ? ledger.finish(hostId, id) : undefined)).catch(warnOnFailure(this.o.log, { host: hostId }, 'Cannot end a placement in progress in NATS KV'));
      if (strict) {
        release({ cancel: true });
        this.o.log.warn({ err, host: hostId }, 'Cannot record a placement in progress in NATS KV: the placement is refused');
        throw new UnavailableError(`Cannot place the container: its placement in progress cannot be recorded in NATS (${messageOf(err)}); try again`, { cause: err });
      }
      this.o.log.warn({ err, host: hostId }, 'Cannot record a placement in progress in NATS KV: other gateways do not see it');
      return () => release();
    }
    if (!added) {
      release({ cancel: true });
      return undefined;
    }
    return () => {
      release();
      // Not waited for: a create must not wait for NATS (an entry not ended counts until it is abandoned, 5 min).
      // In turn with this gateway's decisions, which its write would otherwise refuse; holding the
      // turn no longer than a strict placement's deadline (NATS away: it goes on in the background).
      void this.inTurn(false, () => withDeadline(ledger.finish(hostId, id), this.timeoutMs(true), () => this.noAnswer(true)))
        .then((turn) => {
          if (!turn.ran) throw turn.err;
        })
        .catch(warnOnFailure(this.o.log, { host: hostId }, 'Cannot end a placement in progress in NATS KV'));
    };
  }

  private timeoutMs(strict: boolean): number {
    return this.o.timeoutMs ?? (strict ? STRICT_LEDGER_TIMEOUT_MS : LEDGER_TIMEOUT_MS);
  }

  private noAnswer(strict: boolean): Error {
    return new Error(`no answer from NATS within ${this.timeoutMs(strict) / 1000} s`);
  }
}
