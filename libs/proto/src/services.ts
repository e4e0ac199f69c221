/**
 * The service definitions servers register (`server.addService(ContainersService, …)`), with
 * request decoding guarded (see decode-guard.ts). They shadow the generated ones in index.ts; the
 * generated clients are unaffected (they only encode requests and decode responses).
 */
import { SystemService as system } from './generated/berth/v1/agent.js';
import { BuilderService as builder } from './generated/berth/v1/builder.js';
import { ComposeService as compose } from './generated/berth/v1/compose.js';
import { ContainersService as containers } from './generated/berth/v1/containers.js';
import { EventsService as events } from './generated/berth/v1/events.js';
import { ImagesService as images } from './generated/berth/v1/images.js';
import { NetworksService as networks } from './generated/berth/v1/networks.js';
import { RegistryService as registry } from './generated/berth/v1/registry.js';
import { VolumesService as volumes } from './generated/berth/v1/volumes.js';
import { ContentService as content } from './generated/berth/v1/content.js';
import { SnapshotsService as snapshots } from './generated/berth/v1/snapshots.js';
import { LeasesService as leases } from './generated/berth/v1/leases.js';
import { TasksService as tasks } from './generated/berth/v1/tasks.js';
import { ImageRecordsService as imageRecords } from './generated/berth/v1/image_records.js';
import { NodesService as nodes } from './generated/berth/v1/nodes.js';
import { guardDecoding } from './decode-guard.js';

export const SystemService = guardDecoding(system);
export type SystemService = typeof system;
export const BuilderService = guardDecoding(builder);
export type BuilderService = typeof builder;
export const ContainersService = guardDecoding(containers);
export type ContainersService = typeof containers;
export const EventsService = guardDecoding(events);
export type EventsService = typeof events;
export const ImagesService = guardDecoding(images);
export type ImagesService = typeof images;
export const NetworksService = guardDecoding(networks);
export type NetworksService = typeof networks;
export const RegistryService = guardDecoding(registry);
export type RegistryService = typeof registry;
export const VolumesService = guardDecoding(volumes);
export type VolumesService = typeof volumes;
// The gateway's declared Compose projects (compose-up).
export const ComposeService = guardDecoding(compose);
export type ComposeService = typeof compose;

// The agent's worker services, which the host's builder (apps/builder) works through.
export const ContentService = guardDecoding(content);
export type ContentService = typeof content;
export const SnapshotsService = guardDecoding(snapshots);
export type SnapshotsService = typeof snapshots;
export const LeasesService = guardDecoding(leases);
export type LeasesService = typeof leases;
export const TasksService = guardDecoding(tasks);
export type TasksService = typeof tasks;
export const ImageRecordsService = guardDecoding(imageRecords);
export type ImageRecordsService = typeof imageRecords;
// The gateway's view of the cluster's hosts (multi-host).
export const NodesService = guardDecoding(nodes);
export type NodesService = typeof nodes;
