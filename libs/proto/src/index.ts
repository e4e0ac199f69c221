export * from './generated/berth/v1/images.js';
export * from './generated/berth/v1/containers.js';
export * from './generated/berth/v1/events.js';
export * from './generated/berth/v1/agent.js';
export * from './generated/berth/v1/volumes.js';
export * from './generated/berth/v1/registry.js';
export * from './generated/berth/v1/builder.js';
export * from './generated/berth/v1/networks.js';
export * from './generated/berth/v1/compose.js';
export * from './grpc.js';
export * from './grpc-target.js';
export * from './forward.js';
export * from './generated/berth/v1/content.js';
export * from './generated/berth/v1/snapshots.js';
export * from './generated/berth/v1/leases.js';
export * from './generated/berth/v1/tasks.js';
export * from './generated/berth/v1/image_records.js';
export * from './generated/berth/v1/nodes.js';
// The guarded service definitions shadow the generated ones (explicit exports win over `export *`).
export {
  SystemService,
  BuilderService,
  ContainersService,
  EventsService,
  ImagesService,
  NetworksService,
  RegistryService,
  VolumesService,
  ComposeService,
  ContentService,
  SnapshotsService,
  LeasesService,
  TasksService,
  ImageRecordsService,
  NodesService,
} from './services.js';
export { UndecodableRequest, guardDecoding } from './decode-guard.js';
export { addPlacementHints, placementHints, NODE_METADATA, CONSTRAINT_METADATA, type PlacementHints } from './placement-hints.js';
// The generated definitions as they are (paths and codecs, without the servers' decoding guard), for
// a client that calls their unary methods without grpc-js (apps/cli unary-clients.ts). Apart from
// services.ts so that a bundle naming one of them gets that service's generated code and no other's.
export { BuilderService as BuilderMethods } from './generated/berth/v1/builder.js';
export { ContainersService as ContainersMethods } from './generated/berth/v1/containers.js';
export { ImagesService as ImagesMethods } from './generated/berth/v1/images.js';
export { NetworksService as NetworksMethods } from './generated/berth/v1/networks.js';
export { NodesService as NodesMethods } from './generated/berth/v1/nodes.js';
export { RegistryService as RegistryMethods } from './generated/berth/v1/registry.js';
export { SystemService as SystemMethods } from './generated/berth/v1/agent.js';
export { VolumesService as VolumesMethods } from './generated/berth/v1/volumes.js';
