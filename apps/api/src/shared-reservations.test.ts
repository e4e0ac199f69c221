import { describe, expect, it } from 'vitest';
import { PlacementLedger } from '@berth/events';
import { silentLogger } from '@berth/log';
import { SharedReservations } from './shared-reservations.js';
import { useTwoGatewaysNats } from './test-support.js';

const GiB = 1024 ** 3;

/** Two gateways' placements in progress, on one real nats-server (each its own connection). */
describe('SharedReservations on a real nats-server', () => {
  const nats = useTwoGatewaysNats();

  it("refuses the second of two decisions taken from the same view, and counts the other gateway's placements", async () => {
    const a = new SharedReservations(new PlacementLedger(nats.nc), { by: 'gateway-a', log: silentLogger });
    const b = new SharedReservations(new PlacementLedger(nats.other), { by: 'gateway-b', log: silentLogger });
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
    for (let i = 0; i < 100 && !(await ended()); i++) await new Promise((r) => setTimeout(r, 20));
    expect(await ended()).toBe(true);
    expect(b.count(await b.read(['h1', 'h2']), 'h1', '', listedAt)).toMatchObject({ all: 2 });
    const later = Date.now() + 1;
    await new Promise((r) => setTimeout(r, 5));
    expect(b.count(await b.read(['h1', 'h2']), 'h1', '', later)).toMatchObject({ all: 0 });
  });
});
