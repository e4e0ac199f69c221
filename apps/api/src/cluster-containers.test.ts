import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { FailedPreconditionError, UnavailableError } from '@berth/errors';
import type { ClusterStore, PlacementLedger } from '@berth/events';
import { silentLogger } from '@berth/log';
import { addPlacementHints, AgentAnnouncement, ContainersService, CreateContainerRequest, CreateContainerResponse, ListContainersResponse } from '@berth/proto';
import { placeContainer } from './cluster-containers.js';
import type { ClusterRouter } from './cluster-router.js';
import { SharedReservations } from './shared-reservations.js';

const GiB = 1024 ** 3;
const host = (n: number) => AgentAnnouncement.fromPartial({ hostId: `h${n}`, hostname: `node-${n}`, address: `10.0.0.${n}:7001`, node: { memoryBytes: GiB, cpus: 2, role: 'manager' } });

/**
 * placeContainer in a cluster of two nodes, node-2 live but not answering its list (`live: 1`: not
 * live): `creates` counts the creates that reached an agent. `ledger` as the gateway's (undefined:
 * none, this gateway's own only).
 */
function cluster(ledger?: Pick<PlacementLedger, 'read' | 'add' | 'finish'>, o: { live?: number; secondList?: 'answers' | 'fails'; recorded?: string[] } = {}) {
  const hosts = [host(1), host(2)].slice(0, o.live ?? 2);
  const t = { creates: 0, createdOn: [] as string[], listedAgain: [] as Array<{ host: string; waitForReady: boolean | undefined }> };
  const router = {
    live: async () => hosts,
    fanOut: async () => [
      { host: hosts[0]!, result: ListContainersResponse.fromPartial({ containers: [] }) },
      ...hosts.slice(1).map((h) => ({ host: h, error: new UnavailableError(`host "${h.hostname}" is unavailable`) })),
    ],
    call: async (h: AgentAnnouncement, method: { path: string }, _request: unknown, options: { metadata?: grpc.Metadata } = {}) => {
      if (method === ContainersService.list) {
        // node-2's list asked again (`secondList`): as its connection is back, or still not.
        t.listedAgain.push({ host: h.hostname, waitForReady: options.metadata?.getOptions().waitForReady });
        if (o.secondList === 'answers') return ListContainersResponse.fromPartial({ containers: [] });
        throw new UnavailableError(`host "${h.hostname}" is unavailable: No connection established`);
      }
      t.creates++;
      t.createdOn.push(h.hostname);
      return CreateContainerResponse.fromPartial({ id: `c${t.creates}` });
    },
  } as unknown as ClusterRouter;
  const store = { claimName: async () => async () => {}, putPlacement: async () => {} } as unknown as ClusterStore;
  const reservations = new SharedReservations(ledger, { by: 'gateway-a', log: silentLogger, timeoutMs: 200 });
  const recorded = o.recorded ?? ['h1', 'h2'];
  const nodes = { refresh: async () => {}, availability: () => 'active', ready: (id: string) => recorded.includes(id), labels: () => ({}), known: () => recorded.length, reservations };
  const create = (memoryReservation: number, node?: string) =>
    placeContainer(
      { router, store, nodes, log: silentLogger },
      CreateContainerRequest.fromPartial({ spec: { image: 'busybox', resources: { memoryReservation } } }),
      addPlacementHints(new grpc.Metadata(), { node }),
    );
  return { t, create };
}

describe('placeContainer in a cluster', () => {
  it("weighs a node's room although another node's list did not answer", async () => {
    const { t, create } = cluster();
    await expect(create(2 * GiB)).rejects.toThrow(new FailedPreconditionError('Cannot place the container: no node has 2048 MiB of memory free to reserve (node-1: only 1024 MiB of memory free)'));
    expect(t.creates).toBe(0);
    expect((await create(GiB / 2)).hostname).toBe('node-1');
  });

  it('asks the node a create is pinned to for its list again, waiting for its connection, when it did not answer the first time', async () => {
    const { t, create } = cluster(undefined, { secondList: 'answers' });
    expect((await create(0, 'node-2')).hostname).toBe('node-2');
    expect(t.listedAgain).toEqual([{ host: 'node-2', waitForReady: true }]);
    expect(t.createdOn).toEqual(['node-2']);
  });

  it("names the pinned node's own error when it still does not answer, not \"No such node\"", async () => {
    const { t, create } = cluster(undefined, { secondList: 'fails' });
    await expect(create(0, 'node-2')).rejects.toThrow(new UnavailableError('host "node-2" is unavailable: No connection established'));
    expect(t.creates).toBe(0);
    // A node that answered is not asked again, and one that is not live is placement's to refuse.
    expect((await create(0, 'node-1')).hostname).toBe('node-1');
    await expect(create(0, 'node-9')).rejects.toThrow('No such node: "node-9" (nodes ready: node-1)');
    expect(t.listedAgain).toEqual([{ host: 'node-2', waitForReady: true }]);
  });

  it('does not ask again a node without a record (removed with node rm, still announcing itself): "No such node"', async () => {
    const { t, create } = cluster(undefined, { secondList: 'answers', recorded: ['h1'] });
    await expect(create(0, 'node-2')).rejects.toThrow('No such node: "node-2" (nodes ready: node-1)');
    expect(t.listedAgain).toEqual([]);
    expect(t.creates).toBe(0);
  });

  it("weighs the only live node's room (the other is down)", async () => {
    const { t, create } = cluster(undefined, { live: 1 });
    await expect(create(2 * GiB)).rejects.toThrow(new FailedPreconditionError('Cannot place the container: no node has 2048 MiB of memory free to reserve (node-1: only 1024 MiB of memory free)'));
    expect(t.creates).toBe(0);
  });

  it('does not place a container that reserves memory when the ledger does not answer; one that reserves nothing, it does', async () => {
    const { t, create } = cluster({ read: () => new Promise(() => {}), add: async () => true, finish: async () => {} });
    await expect(create(GiB / 2)).rejects.toThrow(/^Cannot place the container: the placements in progress cannot be read from NATS \(no answer from NATS within 0\.2 s\); try again$/);
    expect(t.creates).toBe(0);
    expect((await create(0)).hostname).toBe('node-1');
    expect(t.creates).toBe(1);
  });
});
