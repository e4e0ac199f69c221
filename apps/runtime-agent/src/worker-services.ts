import type * as grpc from '@grpc/grpc-js';
import { ContentService, ImageRecordsService, LeasesService, SnapshotsService, TasksService } from '@berth/proto';
import type { BuildWorker } from '@berth/worker';
import { contentService } from './content-service.js';
import { imageRecordsService } from './image-records-service.js';
import { leasesService } from './leases-service.js';
import { snapshotsService } from './snapshots-service.js';
import { tasksService } from './tasks-service.js';

/**
 * The services the host's image builder (apps/builder) works through, as BuildKit's containerd
 * worker works through containerd's: Content, Snapshots, Leases, ImageRecords and Tasks, each a
 * thin shell over the host's build worker.
 */
export function registerWorkerServices(server: grpc.Server, worker: BuildWorker): void {
  server.addService(ContentService, contentService(worker.content));
  server.addService(SnapshotsService, snapshotsService(worker.snapshots));
  server.addService(LeasesService, leasesService(worker.leases));
  server.addService(ImageRecordsService, imageRecordsService(worker.images));
  server.addService(TasksService, tasksService(worker.tasks));
}
