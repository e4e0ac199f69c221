import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError } from '@berth/errors';
import { silentLogger } from '@berth/log';
import { ContainersService, channelOptions, handleUnary, type AgentAnnouncement, ContainerSummary, type ListContainersRequest } from '@berth/proto';
import { listContainers } from './cluster-containers.js';
import { ClusterRouter } from './cluster-router.js';
import { ServiceDirectory } from './service-directory.js';

/**
 * The router against real gRPC servers on unix sockets, each serving Containers.Inspect and List for
 * a few named containers, one of them hung (it never answers): routing by name, fan-out and merge,
 * and a hung host that is reported instead of hanging the call.
 */
let dir: string;
const servers: grpc.Server[] = [];
const clients = new Map<string, grpc.Client>();
let router: ClusterRouter;

function summary(id: string, name: string, created: number): ContainerSummary {
  return ContainerSummary.fromPartial({ id, names: [`/${name}`], image: 'busybox', created, state: 'running', status: 'Up' });
}

async function agent(name: string, containers: ContainerSummary[], o: { hung?: boolean } = {}): Promise<AgentAnnouncement> {
  const server = new grpc.Server(channelOptions);
  const never = () => {}; // a hung agent: the call is never answered
  server.addService(ContainersService, {
    inspect: o.hung
      ? never
      : handleUnary(async ({ id }: { id: string }) => {
          const c = containers.find((x) => x.id.startsWith(id) || x.names.includes(`/${id}`));
          if (!c) throw new NotFoundError(`No such container: ${id}`);
          return { json: JSON.stringify({ Id: c.id }) };
        }),
    list: o.hung ? never : handleUnary(async (_req: ListContainersRequest) => ({ containers })),
  } as unknown as grpc.UntypedServiceImplementation);
  const address = `unix:${join(dir, `${name}.sock`)}`;
  await new Promise<void>((resolve, reject) => server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
  servers.push(server);
  return { hostId: `${name}-id`, hostname: name, address, version: '0', startedAt: Date.now() };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-router-test-'));
  const hosts = [
    await agent('node-1', [summary('aaa1', 'web', 10)]),
    await agent('node-2', [summary('bbb2', 'db', 20), summary('bbb3', 'cache', 5)]),
  ];
  const directory = new ServiceDirectory<AgentAnnouncement>({
    list: async () => ({ entries: hosts.map((value) => ({ key: value.hostId, revision: 1, value })), keys: new Set(hosts.map((h) => h.hostId)) }),
    ttlMs: 15_000,
    id: (h) => h.hostId,
    address: (h) => h.address,
    connected: () => true,
    noneMessage: 'none',
    log: silentLogger,
  });
  router = new ClusterRouter(directory, (address) => {
    if (!clients.has(address)) clients.set(address, new grpc.Client(address, grpc.credentials.createInsecure()));
    return clients.get(address)!;
  });
  // a third host that hangs: left out (isDown, as the node keeper would) until the last test
  hosts.push(await agent('node-3', [], { hung: true }));
});

afterAll(() => {
  for (const c of clients.values()) c.close();
  for (const s of servers) s.forceShutdown();
  rmSync(dir, { recursive: true, force: true });
});

describe('ClusterRouter', () => {
  it('finds the host of a container by name or id prefix', async () => {
    router.isDown = (id) => id === 'node-3-id';
    expect((await router.locate(ContainersService.inspect, { id: 'db' })).map((a) => a.host.hostname)).toEqual(['node-2']);
    expect((await router.locate(ContainersService.inspect, { id: 'aaa' })).map((a) => a.host.hostname)).toEqual(['node-1']);
    await expect(router.locate(ContainersService.inspect, { id: 'nope' })).rejects.toThrow('No such container: nope');
  });

  it('pins to the node the metadata names, and refuses an unknown one', async () => {
    const md = new grpc.Metadata();
    md.set('berth-node', 'node-1');
    await expect(router.locate(ContainersService.inspect, { id: 'db' }, md)).rejects.toThrow('No such container: db');
    md.set('berth-node', 'node-9');
    await expect(router.locate(ContainersService.inspect, { id: 'db' }, md)).rejects.toThrow('No such node: "node-9"');
  });

  it('merges every host\'s ps, newest first, with its node, and filters by node', async () => {
    const all = await listContainers(router, { all: true, limit: 0, latest: false, filters: [], size: false });
    expect(all.map((c) => `${c.names[0]} ${c.node}`)).toEqual(['/db node-2', '/web node-1', '/cache node-2']);
    const one = await listContainers(router, { all: true, limit: 0, latest: false, filters: [{ key: 'node', value: 'node-1' }], size: false });
    expect(one.map((c) => c.names[0])).toEqual(['/web']);
    const latest = await listContainers(router, { all: true, limit: 0, latest: true, filters: [], size: false });
    expect(latest.map((c) => c.names[0])).toEqual(['/db']);
  });

  it('reports a hung host as unavailable within the deadline, and the others keep answering', async () => {
    router.isDown = () => false;
    const started = Date.now();
    const all = await listContainers(router, { all: true, limit: 0, latest: false, filters: [], size: false });
    expect(all).toHaveLength(3);
    await expect(router.locate(ContainersService.inspect, { id: 'nope' })).rejects.toThrow(/^host "node-3" is unavailable: .*\(no other host has it: No such container: nope\)$/);
    expect(Date.now() - started).toBeLessThan(12_000);
  }, 20_000);
});
