import { handleUnary, type ImageRecordsServer } from '@berth/proto';
import { type WorkerImages, workerProto } from '@berth/worker';

/** The ImageRecords gRPC service: thin handlers over the host's image store (through its build worker). */
export function imageRecordsService(images: WorkerImages): ImageRecordsServer {
  return {
    get: handleUnary(async ({ ref }) => workerProto.imageToProto(await images.get(ref))),
    register: handleUnary(async (r) =>
      workerProto.imageToProto(await images.register(Buffer.from(r.manifest), { names: r.names, layerSizes: workerProto.layerSizesFromProto(r.layerSizes) })),
    ),
  };
}
