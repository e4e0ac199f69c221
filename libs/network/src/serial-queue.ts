import { Turns } from '@berth/events';

/**
 * The network manager's queue: one operation at a time, in the order asked. Requests of one kind
 * that arrive while their batch still waits at the tail of the queue join it and run together
 * (`batch`): thirty containers stopping at once (`compose down`) release their networks in one
 * turn, with one `ip` process, instead of thirty turns one after another. A batch only ever grows
 * while nothing else was queued behind it, so the order is the one of queuing each request alone.
 */
export class SerialQueue {
  private readonly turns = new Turns();
  private open: OpenBatch | undefined;

  /** Runs `fn` after everything queued before it. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    this.open = undefined; // what comes after this must not run before it
    return this.enqueue(fn);
  }

  /**
   * Queues `item` for `runBatch`, in the batch at the tail when it is `runBatch`'s and has not
   * started, else in a new one. `runBatch` gets every item of its batch once and answers which
   * failed (item → error); each caller's promise rejects with its own item's error only.
   */
  batch<I>(item: I, runBatch: (items: I[]) => Promise<Map<I, unknown>>): Promise<void> {
    let open = this.open;
    if (open === undefined || open.runBatch !== runBatch) {
      const items: unknown[] = [];
      const batchRun = runBatch as (items: unknown[]) => Promise<Map<unknown, unknown>>;
      const created: OpenBatch = {
        runBatch,
        items,
        result: this.enqueue(() => {
          if (this.open === created) this.open = undefined; // started: later items go to a new batch
          return batchRun(items);
        }),
      };
      this.open = open = created;
    }
    open.items.push(item);
    return open.result.then((failed) => {
      if (failed.has(item)) throw failed.get(item);
    });
  }

  /** The caller sees its failure; the queue goes on. */
  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    return this.turns.run(fn);
  }
}

interface OpenBatch {
  runBatch: unknown;
  items: unknown[];
  result: Promise<Map<unknown, unknown>>;
}
