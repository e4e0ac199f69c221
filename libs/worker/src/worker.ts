import type { Readable } from 'node:stream';
import type { BlobInfo, BlobSource } from '@berth/content';
import type { Mount } from '@berth/snapshots';

/**
 * What the image builder needs from the host it builds on, cut by role as containerd's services
 * are for BuildKit's containerd worker: content, snapshots, leases, image records and tasks (RUN
 * steps). Two implementations share it: `LocalWorker` (in process, over the host's stores; the
 * runtime agent serves it over gRPC) and the builder's gRPC client of those services.
 *
 * Every resource a build creates is made under a lease (`lease` options): when the lease ends
 * (deleted, or expired because its owner stopped renewing it) the active and view snapshots, the
 * task containers and the blobs no image references are removed. Committed snapshots stay.
 */
export interface BuildWorker {
  readonly content: WorkerContent;
  readonly snapshots: WorkerSnapshots;
  readonly leases: WorkerLeases;
  readonly images: WorkerImages;
  readonly tasks: WorkerTasks;
}

/** The content store: blobs by digest. */
export interface WorkerContent {
  /** Digest and size; NotFoundError `No such blob: <digest>` when missing. */
  info(digest: string): Promise<BlobInfo>;
  /** The whole blob in memory (manifests, configs). NotFoundError when missing. */
  read(digest: string): Promise<Buffer>;
  /** The blob as a stream (layers); the stream fails with NotFoundError when missing. */
  createReadStream(digest: string): Readable;
  /**
   * Writes a blob, verified against `expected` / `size` while streaming (InvalidArgumentError on a
   * mismatch, nothing stored). With `lease`, the blob is held by it.
   */
  ingest(source: BlobSource, options?: { expected?: string; size?: number; lease?: string }): Promise<BlobInfo>;
}

export type SnapshotKind = 'active' | 'view' | 'committed';

export interface WorkerSnapshotInfo {
  key: string;
  parent?: string;
  kind: SnapshotKind;
  created: string;
}

/** The overlay snapshotter. The caller mounts the returned mounts itself (same host). */
export interface WorkerSnapshots {
  /** An active snapshot on `parent` (a committed one) held by `lease`; the mounts of its root. */
  prepare(key: string, options?: { parent?: string; lease?: string }): Promise<Mount[]>;
  /** A read-only view of `parent`, held by `lease`. */
  view(key: string, options?: { parent?: string; lease?: string }): Promise<Mount[]>;
  mounts(key: string): Promise<Mount[]>;
  /** Active `key` → committed `name`. AlreadyExistsError when `name` exists. Unmount first. */
  commit(name: string, key: string): Promise<void>;
  /** FailedPreconditionError while mounted or a parent. NotFoundError when missing. */
  remove(key: string): Promise<void>;
  /** NotFoundError when missing. */
  stat(key: string): Promise<WorkerSnapshotInfo>;
  list(): Promise<WorkerSnapshotInfo[]>;
}

export type LeaseResourceType = 'snapshot' | 'blob' | 'task';

export interface LeaseResource {
  type: LeaseResourceType;
  id: string;
}

export interface Lease {
  id: string;
  /** Unix ms; 0 = never expires. */
  expiresAt: number;
  createdAt: number;
  labels: Record<string, string>;
  resources: LeaseResource[];
}

/** A lease label: a directory (under the data root) where the owner mounts snapshots; unmounted and removed when the lease ends. */
export const MOUNT_ROOT_LABEL = 'berth.lease.mount-root';

export interface WorkerLeases {
  /** A new lease (random id unless given) expiring after `ttlMs` (0: never). AlreadyExistsError. */
  create(options?: { id?: string; ttlMs?: number; labels?: Record<string, string> }): Promise<Lease>;
  /** Expiry = now + `ttlMs`. NotFoundError once it expired. */
  renew(id: string, ttlMs: number): Promise<Lease>;
  /** Ends the lease and removes what only it held. NotFoundError. */
  delete(id: string): Promise<void>;
  addResource(id: string, resource: LeaseResource): Promise<void>;
  /** Lets go of a resource; removed at once when nothing else holds it. */
  removeResource(id: string, resource: LeaseResource): Promise<{ collected: boolean; reclaimed: number }>;
  list(): Promise<Lease[]>;
}

/** An image of the host's store, as the builder reads it. */
export interface WorkerImage {
  /** The config digest. */
  id: string;
  manifestDigest: string;
  /** Exact bytes of the manifest and the config. */
  manifest: Buffer;
  config: Buffer;
  /** Full references (`docker.io/library/busybox:latest`). */
  names: string[];
  created: string;
}

/** One progress message of a pull or push (Docker's: layer id + status). */
export interface TransferEvent {
  id: string;
  status: string;
}

export interface Credentials {
  username: string;
  password: string;
}

/** The error code of a pull or push refused because the host has no registry access (thrown at the call). */
export const NO_REGISTRY_ACCESS = 'NO_REGISTRY_ACCESS';

export interface WorkerImages {
  /** By name, digest reference or id. NotFoundError `No such image: <ref>`. */
  get(ref: string): Promise<WorkerImage>;
  /** Records the image of `manifest` (its blobs stored) and points `names` at it. */
  register(manifest: Buffer, options?: { names?: string[]; layerSizes?: Map<string, number> }): Promise<WorkerImage>;
  /** Pulls `ref` into the store. FailedPreconditionError NO_REGISTRY_ACCESS at the call when the host cannot. */
  pull(ref: string, auth?: Credentials): AsyncIterable<TransferEvent>;
  /** Pushes the local tag `ref`. */
  push(ref: string, auth?: Credentials): AsyncIterable<TransferEvent>;
  /** An OCI image-layout tar of the named images (as `save`). */
  save(refs: string[]): AsyncIterable<Uint8Array>;
}

export interface TaskMount {
  /** Host directory or file (a bind); empty for a tmpfs. */
  source: string;
  destination: string;
  readOnly?: boolean;
  /** Default `bind`. */
  type?: 'bind' | 'tmpfs';
  /** tmpfs size in bytes; default the kernel's. */
  size?: number;
}

export interface TaskRequest {
  /** The active snapshot to run on; the caller must not have it mounted meanwhile. */
  snapshot: string;
  lease?: string;
  args: string[];
  env: string[];
  /** Absolute; created when missing. Default `/`. */
  cwd?: string;
  /** Docker USER value; default root. */
  user?: string;
  network?: 'host' | 'none';
  mounts?: TaskMount[];
  /** A file provided read-only at `path` (mode 0755). */
  script?: { path: string; content: string };
}

export interface WorkerTasks {
  /**
   * Runs the process in a container on the snapshot and resolves with its exit code; output
   * chunks go to `onOutput` as they come. `signal` kills it. A process that cannot start rejects
   * with the runtime's error.
   */
  run(request: TaskRequest, options?: { onOutput?: (text: string) => void; signal?: AbortSignal }): Promise<number>;
}
