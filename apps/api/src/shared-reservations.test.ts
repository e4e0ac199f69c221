import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FailedPreconditionError, UnavailableError } from '@berth/errors';
import { PlacementLedger } from '@berth/events';
import { silentLogger } from '@berth/log';
import { useNatsClusterFixture, waitUntil } from '@berth/testing';
import { choosePlacement } from './placement.js';
import { SharedReservations } from './shared-reservations.js';
import { useTwoGatewaysNats } from './test-support.js';

const GiB = 1024 ** 3;
/**
 * The ledger's deadline where it is not what a test is about: the default (2 s) failed a write on
 * a loaded CI machine (the first on a fresh nats-server), which then went on unrecorded.
 */
const patient = { timeoutMs: 30_000 };

/** Two gateways' placements in progress, on one real nats-server (each its own connection). */
describe('SharedReservations on a real nats-server', () => {
  const nats = useTwoGatewaysNats();

  it("refuses the second of two decisions taken from the same view, and counts the other gateway's placements", async () => {
    const a = new SharedReservations(new PlacementLedger(nats.nc), { by: 'gateway-a', log: silentLogger, ...patient });
    const b = new SharedReservations(new PlacementLedger(nats.other), { by: 'gateway-b', log: silentLogger, ...patient });
    const listedAt = Date.now();
    const [viewA, viewB] = await Promise.all([a.read(['h1', 'h2']), b.read(['h1', 'h2'])]);
    const releaseA = await a.reserve(viewA, 'h1', 'p/web', { memoryBytes: GiB, nanoCpus: 1e9 });
    expect(releaseA).toBeDefined();
    // b decided from the same (empty) view: refused, it decides again from a fresh one.
    expect(await b.reserve(viewB, 'h1', 'p/web', { memoryBytes: GiB, nanoCpus: 0 })).toBeUndefined();
    expect(b.count(viewB, 'h1', 'p/web', listedAt)).toEqual({ all: 0, sameService: 0, demand: { memoryBytes: 0, nanoCpus: 0 } });
    const fresh = await b.read(['h1', 'h2']);
    expect(b.count(fresh, 'h1', 'p/web', listedAt)).toEqual({ all: 1, sameService: 1, demand: { memoryBytes: GiB, nanoCpus: 1e9 } });
    expect(b.count(fresh, 'h2', 'p/web', listedAt)).toMatchObject({ all: 0 });
    // a counts its own once (kept here, skipped in the ledger).
    expect(a.count(await a.read(['h1', 'h2']), 'h1', '', listedAt)).toMatchObject({ all: 1, sameService: 0 });
    const releaseB = await b.reserve(fresh, 'h1', '', { memoryBytes: 0, nanoCpus: 0 });
    expect(releaseB).toBeDefined();
    expect(a.count(await a.read(['h1', 'h2']), 'h1', '', listedAt)).toMatchObject({ all: 2 });
    // Ended: it still counts for a decision whose lists were read before (they may not show the
    // container yet), not for one whose lists were read after.
    releaseA!();
    releaseB!();
    const ended = async () => ((await b.read(['h1', 'h2']))?.get('h1')?.entries ?? []).every((e) => e.doneAt !== undefined);
    await waitUntil('both placements ended in the ledger', ended, { timeoutMs: 20_000, intervalMs: 20 });
    expect(b.count(await b.read(['h1', 'h2']), 'h1', '', listedAt)).toMatchObject({ all: 2 });
    const later = Date.now() + 1;
    await new Promise((r) => setTimeout(r, 5));
    expect(b.count(await b.read(['h1', 'h2']), 'h1', '', later)).toMatchObject({ all: 0 });
  });
});

/**
 * Two gateways placing on one node with room for one container (what cluster-containers.ts
 * createPlaced does, with placement.ts's check): whatever NATS does, at most one of them places.
 */
describe('SharedReservations: two gateways, one node with room for one', () => {
  const nats = useTwoGatewaysNats();
  const big = { memoryBytes: GiB, nanoCpus: 0 };
  /** A node of its own per test (the tests share one nats-server). */
  const node = () => `h-${randomBytes(4).toString('hex')}`;
  /** The deadline of a gateway whose ledger does not answer (what those tests are about). */
  const strictly = { timeoutMs: 300 };
  /** Places `demand` on `hostId` (1.5 GiB of memory) through `g`, as createPlaced does. */
  const place = (g: SharedReservations, hostId: string, demand = big) => {
    const listedAt = Date.now();
    return g.place({ hostIds: [hostId], service: '', demand, strict: true }, (view) => {
      const reserved = g.count(view, hostId, '', listedAt).demand;
      const candidate = { hostId, hostname: 'node-1', labels: {}, availability: 'active', containers: 0, sameService: 0, capacity: { memoryBytes: 1.5 * GiB, nanoCpus: 0 }, reserved };
      return choosePlacement([candidate], { node: 'node-1', demand });
    });
  };
  /** Gateway a on the real ledger; b on `ledgerB`, with `deadline` (short only where b's ledger hangs). */
  const gateways = (ledgerB: (real: PlacementLedger) => Pick<PlacementLedger, 'read' | 'add' | 'finish'>, deadline = patient) => {
    const a = new SharedReservations(new PlacementLedger(nats.nc), { by: 'gateway-a', log: silentLogger, ...patient });
    const b = new SharedReservations(ledgerB(new PlacementLedger(nats.other)), { by: 'gateway-b', log: silentLogger, ...deadline });
    return { a, b };
  };
  const never = () => new Promise<never>(() => {});

  it('refuses the second at once when the ledger answers', async () => {
    const h = node();
    const { a, b } = gateways((real) => real);
    const [first, second] = await Promise.allSettled([place(a, h), place(b, h)]);
    expect([first, second].filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = [first, second].find((r) => r.status === 'rejected')!;
    expect((refused as PromiseRejectedResult).reason).toBeInstanceOf(FailedPreconditionError);
    for (const r of [first, second]) if (r.status === 'fulfilled') r.value.release();
  });

  it("does not place when the ledger's read does not answer (refused, to be tried again)", async () => {
    const h = node();
    const { a, b } = gateways((real) => ({ read: never, add: (...args) => real.add(...args), finish: (...args) => real.finish(...args) }), strictly);
    const placed = await place(a, h);
    await expect(place(b, h)).rejects.toThrow(/^Cannot place the container: the placements in progress cannot be read from NATS \(no answer from NATS within 0\.3 s\); try again$/);
    await expect(place(b, h)).rejects.toBeInstanceOf(UnavailableError);
    placed.release();
  });

  it("does not place when the ledger's write does not answer, nor count it any longer here", async () => {
    const h = node();
    let written!: () => void;
    const writing = new Promise<void>((resolve) => (written = resolve));
    // b's write hangs until a has placed (after b's read): b decided from a view without a's.
    const { a, b } = gateways((real) => ({
      read: (ids) => real.read(ids),
      add: () => {
        written();
        return never();
      },
      finish: (...args) => real.finish(...args),
    }), strictly);
    const second = place(b, h);
    await writing;
    const placed = await place(a, h);
    await expect(second).rejects.toThrow(/^Cannot place the container: its placement in progress cannot be recorded in NATS \(no answer from NATS within 0\.3 s\); try again$/);
    expect(b.local.count(h, '', 0)).toMatchObject({ all: 0 });
    placed.release();
  });

  it("does not place when the ledger's write fails", async () => {
    const h = node();
    const { b } = gateways((real) => ({ read: (ids) => real.read(ids), add: () => Promise.reject(new Error('no responders')), finish: (...args) => real.finish(...args) }));
    await expect(place(b, h)).rejects.toThrow(/^Cannot place the container: its placement in progress cannot be recorded in NATS \(no responders\); try again$/);
  });

  it('decides again from a fresh read on every refused write, and refuses after too many rather than decide alone', async () => {
    const h = node();
    let reads = 0;
    let held: { release: () => void } | undefined;
    // Another gateway writes the node's key between each of b's reads and its write (a tiny
    // placement, ended at once), the fifth time a big one it keeps: b's every write is refused.
    const { a, b } = gateways((real) => ({
      read: async (ids) => {
        const view = await real.read(ids);
        if (++reads < 5) (await place(a, h, { memoryBytes: 1, nanoCpus: 0 })).release();
        else if (reads === 5) held = await place(a, h);
        return view;
      },
      add: (...args) => real.add(...args),
      finish: (...args) => real.finish(...args),
    }));
    await expect(place(b, h)).rejects.toThrow(/^Cannot place the container on node "node-1": other gateways recorded placements at the same time \d+ times; try again$/);
    expect(reads).toBe(5);
    expect(held).toBeDefined();
    expect(b.local.count(h, '', 0)).toMatchObject({ all: 0 });
    held?.release();
  });
});

/**
 * The same on a NATS cluster of three, each gateway connected to its own server (three machines):
 * nats-server 2.9.10 lets two writes of one key naming one revision both through there
 * (nats-io/nats-server#4320, tools/nats-cas-race.ts), which let both gateways place on a node
 * with room for one (test/cluster-gateways.e2e.test.ts "does not over-commit a node's memory").
 */
describe('SharedReservations: two gateways on a NATS cluster of three, one node with room for one', () => {
  const cluster = useNatsClusterFixture();

  it('places once per round when both write at the same moment, whichever server each writes through', async () => {
    const ledgerA = new PlacementLedger(cluster.nc);
    const ledgerB = new PlacementLedger(cluster.other);
    // One node for every round: its key exists after the first, so each round's writes replace it
    // naming the revision (or sequence) read, as on a cluster that has placed before.
    const h = `h-${randomBytes(4).toString('hex')}`;
    // The bucket made before the rounds: two gateways making it at once, one is told "no suitable
    // peers for placement" (a retryable failure of the first placement, not this test's subject).
    await ledgerA.read([h]);
    await ledgerB.read([h]);
    const demand = { memoryBytes: GiB, nanoCpus: 0 };
    const placedPerRound: number[] = [];
    for (let round = 0; round < 40; round++) {
      // Each gateway's first write of the round waits for the other's: both in flight at once, from
      // views read before either (the moment the e2e test hit by chance on a loaded machine).
      let arrived = 0;
      let bothThere!: () => void;
      const together = new Promise<void>((resolve) => (bothThere = resolve));
      const atOnce = (real: PlacementLedger): Pick<PlacementLedger, 'read' | 'add' | 'finish'> => {
        let first = true;
        return {
          read: (ids) => real.read(ids),
          add: async (...args) => {
            if (first) {
              first = false;
              if (++arrived === 2) bothThere();
              await together;
            }
            return real.add(...args);
          },
          finish: (...args) => real.finish(...args),
        };
      };
      const a = new SharedReservations(atOnce(ledgerA), { by: 'gateway-a', log: silentLogger, ...patient });
      const b = new SharedReservations(atOnce(ledgerB), { by: 'gateway-b', log: silentLogger, ...patient });
      const place = (g: SharedReservations) => {
        const listedAt = Date.now();
        return g.place({ hostIds: [h], service: '', demand, strict: true }, (view) => {
          const reserved = g.count(view, h, '', listedAt).demand;
          const candidate = { hostId: h, hostname: 'node-1', labels: {}, availability: 'active', containers: 0, sameService: 0, capacity: { memoryBytes: 1.5 * GiB, nanoCpus: 0 }, reserved };
          return choosePlacement([candidate], { node: 'node-1', demand });
        });
      };
      const results = await Promise.allSettled([place(a), place(b)]);
      const placed = results.filter((r) => r.status === 'fulfilled').length;
      placedPerRound.push(placed);
      expect(placed, `placed in round ${round + 1} of 40 (${results.map((r) => (r.status === 'fulfilled' ? 'placed' : String(r.reason))).join('; ')})`).toBe(1);
      for (const r of results) {
        if (r.status === 'fulfilled') r.value.release();
        else expect(r.reason).toBeInstanceOf(FailedPreconditionError);
      }
      // Ended in the ledger before the next round reads its lists (else it still counts there).
      await waitUntil('the round\'s placement ended in the ledger', async () => (await ledgerA.read([h])).get(h)!.entries.every((e) => e.doneAt !== undefined && e.doneAt < Date.now()), {
        timeoutMs: 20_000,
        intervalMs: 5,
      });
    }
    expect(placedPerRound).toEqual(Array(40).fill(1));
  }, 120_000);
});
