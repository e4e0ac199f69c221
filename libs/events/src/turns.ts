import { withDeadline } from './deadline.js';

/** A turn's wait for the turns before it ran out (Turns.run with `wait`); it did not run. */
export class TurnNotCome extends Error {}

/**
 * One at a time within this process: each `run` starts once every earlier one has ended (made or
 * failed). The writers of a bucket whose writes name its last sequence (sequenced-bucket.ts, the
 * placement ledger) take turns, else their own writes side by side would refuse one another.
 */
export class Turns {
  /** Settles once the last turn given out has ended (never rejects). */
  private last: Promise<unknown> = Promise.resolve();

  /**
   * Runs `fn` in its turn. With `wait`: rejects with TurnNotCome(`wait.message`) without running
   * `fn` when the turns before it have not ended within `wait.ms` (the turns after it still wait for
   * those, not for this one).
   */
  run<R>(fn: () => Promise<R>, wait?: { ms: number; message: string }): Promise<R> {
    const previous = this.last;
    const waited = wait === undefined ? previous : withDeadline(previous, wait.ms, () => new TurnNotCome(wait.message));
    const mine = waited.then(fn);
    this.last = previous.then(() => mine).catch(() => undefined);
    return mine;
  }
}
