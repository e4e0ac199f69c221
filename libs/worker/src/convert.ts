/**
 * proto ⇄ domain conversions of the build worker's services, in one place, for both sides: the
 * runtime agent (which serves a LocalWorker) and the builder (whose gRPC client implements the
 * same BuildWorker interface). Like containerd's snapshots/proxy/convert.go.
 */
import { InvalidArgumentError } from '@berth/errors';
import type * as pb from '@berth/proto';
import type { Mount } from '@berth/snapshots';
import type { Lease, LeaseResource, LeaseResourceType, SnapshotKind, TaskMount, TaskRequest, WorkerImage, WorkerSnapshotInfo } from './worker.js';

export function mountToProto(m: Mount): pb.SnapshotMount {
  return { type: m.type, source: m.source, target: m.target ?? '', options: m.options, cwd: m.cwd ?? '' };
}

export function mountFromProto(m: pb.SnapshotMount): Mount {
  return { type: m.type, source: m.source, ...(m.target ? { target: m.target } : {}), options: m.options, ...(m.cwd ? { cwd: m.cwd } : {}) };
}

export function snapshotInfoToProto(info: WorkerSnapshotInfo): pb.SnapshotInfo {
  return { key: info.key, parent: info.parent ?? '', kind: info.kind, created: info.created };
}

export function snapshotInfoFromProto(info: pb.SnapshotInfo): WorkerSnapshotInfo {
  return { key: info.key, ...(info.parent ? { parent: info.parent } : {}), kind: info.kind as SnapshotKind, created: info.created };
}

export function leaseToProto(lease: Lease): pb.Lease {
  return { id: lease.id, expiresAt: lease.expiresAt, createdAt: lease.createdAt, labels: lease.labels, resources: lease.resources };
}

export function leaseFromProto(lease: pb.Lease): Lease {
  return {
    id: lease.id,
    expiresAt: lease.expiresAt,
    createdAt: lease.createdAt,
    labels: lease.labels,
    resources: lease.resources.map(resourceFromProto),
  };
}

export function resourceFromProto(r: pb.LeaseResource | undefined): LeaseResource {
  if (!r || (r.type !== 'snapshot' && r.type !== 'blob' && r.type !== 'task')) {
    throw new InvalidArgumentError(`Invalid lease resource type "${r?.type ?? ''}": expected snapshot, blob or task`);
  }
  return { type: r.type as LeaseResourceType, id: r.id };
}

export function imageToProto(image: WorkerImage): pb.ImageRecord {
  return { id: image.id, manifestDigest: image.manifestDigest, manifest: image.manifest, config: image.config, names: image.names, created: image.created };
}

export function imageFromProto(image: pb.ImageRecord): WorkerImage {
  return {
    id: image.id,
    manifestDigest: image.manifestDigest,
    manifest: Buffer.from(image.manifest),
    config: Buffer.from(image.config),
    names: image.names,
    created: image.created,
  };
}

export function taskRequestToProto(request: TaskRequest): pb.RunTaskRequest {
  return {
    snapshot: request.snapshot,
    lease: request.lease ?? '',
    args: request.args,
    env: request.env,
    cwd: request.cwd ?? '',
    user: request.user ?? '',
    network: request.network ?? 'host',
    mounts: (request.mounts ?? []).map((m) => ({ source: m.source, destination: m.destination, readOnly: m.readOnly ?? false, type: m.type ?? 'bind', size: m.size ?? 0 })),
    script: request.script,
  };
}

export function taskRequestFromProto(request: pb.RunTaskRequest): TaskRequest {
  if (request.network !== '' && request.network !== 'host' && request.network !== 'none') {
    throw new InvalidArgumentError(`Invalid task network "${request.network}": expected host or none`);
  }
  if (request.args.length === 0) throw new InvalidArgumentError('Cannot run a task without a command');
  return {
    snapshot: request.snapshot,
    ...(request.lease ? { lease: request.lease } : {}),
    args: request.args,
    env: request.env,
    ...(request.cwd ? { cwd: request.cwd } : {}),
    ...(request.user ? { user: request.user } : {}),
    network: request.network === 'none' ? 'none' : 'host',
    mounts: request.mounts.map(taskMountFromProto),
    ...(request.script ? { script: { path: request.script.path, content: request.script.content } } : {}),
  };
}

function taskMountFromProto(m: pb.TaskMount): TaskMount {
  if (m.type !== '' && m.type !== 'bind' && m.type !== 'tmpfs') throw new InvalidArgumentError(`Invalid task mount type "${m.type}": expected bind or tmpfs`);
  if (!m.destination.startsWith('/')) throw new InvalidArgumentError(`Invalid task mount destination "${m.destination}": expected an absolute path`);
  return {
    source: m.source,
    destination: m.destination,
    readOnly: m.readOnly,
    ...(m.type === 'tmpfs' ? { type: 'tmpfs' as const } : {}),
    ...(m.size > 0 ? { size: m.size } : {}),
  };
}

export function layerSizesToProto(sizes: Map<string, number> | undefined): Record<string, number> {
  return Object.fromEntries(sizes ?? []);
}

export function layerSizesFromProto(sizes: Record<string, number>): Map<string, number> {
  return new Map(Object.entries(sizes));
}
