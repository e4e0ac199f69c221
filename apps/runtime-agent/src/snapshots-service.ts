import { handleUnary, type SnapshotsServer } from '@berth/proto';
import { type WorkerSnapshots, workerProto } from '@berth/worker';

/** The Snapshots gRPC service: thin handlers over the host's snapshotter (through its build worker). */
export function snapshotsService(snapshots: WorkerSnapshots): SnapshotsServer {
  const lease = (id: string) => (id ? { lease: id } : {});
  const parent = (key: string) => (key ? { parent: key } : {});
  return {
    prepare: handleUnary(async (r) => ({ mounts: (await snapshots.prepare(r.key, { ...parent(r.parent), ...lease(r.lease) })).map(workerProto.mountToProto) })),
    view: handleUnary(async (r) => ({ mounts: (await snapshots.view(r.key, { ...parent(r.parent), ...lease(r.lease) })).map(workerProto.mountToProto) })),
    mounts: handleUnary(async ({ key }) => ({ mounts: (await snapshots.mounts(key)).map(workerProto.mountToProto) })),
    commit: handleUnary(async ({ name, key }) => (await snapshots.commit(name, key), {})),
    remove: handleUnary(async ({ key }) => (await snapshots.remove(key), {})),
    stat: handleUnary(async ({ key }) => workerProto.snapshotInfoToProto(await snapshots.stat(key))),
    list: handleUnary(async () => ({ snapshots: (await snapshots.list()).map(workerProto.snapshotInfoToProto) })),
  };
}
