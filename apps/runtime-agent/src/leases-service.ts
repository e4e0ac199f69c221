import { handleUnary, type LeasesServer } from '@berth/proto';
import { type WorkerLeases, workerProto } from '@berth/worker';

/** The Leases gRPC service: thin handlers over the host's lease manager (through its build worker). */
export function leasesService(leases: WorkerLeases): LeasesServer {
  return {
    create: handleUnary(async (r) => workerProto.leaseToProto(await leases.create({ ...(r.id ? { id: r.id } : {}), ttlMs: r.ttlMs, labels: r.labels }))),
    renew: handleUnary(async (r) => workerProto.leaseToProto(await leases.renew(r.id, r.ttlMs))),
    delete: handleUnary(async ({ id }) => (await leases.delete(id), {})),
    addResource: handleUnary(async (r) => (await leases.addResource(r.lease, workerProto.resourceFromProto(r.resource)), {})),
    removeResource: handleUnary(async (r) => leases.removeResource(r.lease, workerProto.resourceFromProto(r.resource))),
    list: handleUnary(async () => ({ leases: (await leases.list()).map(workerProto.leaseToProto) })),
  };
}
