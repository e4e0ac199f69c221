import type {
  BuildOptions,
  ContainerSpec,
  ContainerSummary,
  CreateNetworkRequest,
  CreateVolumeRequest,
  Event,
  NetworkSummary,
  PlacementHints,
  TransferProgress,
  Volume,
} from '@berth/proto';

/**
 * The controller's view of the platform: what `up`, `down` and the watcher ask of it, cut by role.
 * The one implementation used for real is GatewayEngine (gRPC to the gateway, never the agent);
 * tests may use any other. Every method rejects with the classes of @berth/errors as the gateway
 * sent them (NotFoundError for a missing container, network, volume or image, ...).
 */

/** The part of Docker's container inspect document the controller reads. */
export interface ContainerDetails {
  Id: string;
  /** With the leading slash. */
  Name: string;
  Created: string;
  /** The image id (`sha256:…`). */
  Image: string;
  State: {
    Status: string;
    Running: boolean;
    Paused: boolean;
    Restarting: boolean;
    ExitCode: number;
    StartedAt?: string;
    FinishedAt?: string;
    /** Present when the container has a healthcheck (once the agent runs them). */
    Health?: { Status: string; FailingStreak?: number; Log?: Array<{ ExitCode: number; Output: string }> };
  };
  Config: { Labels: Record<string, string> | null; Image: string; Healthcheck?: { Test?: string[] } };
  Mounts?: Array<{ Type: string; Name?: string; Source?: string; Destination: string }>;
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string }> };
}

/** What a health wait ended on (Containers.WaitHealth's answer). */
export interface HealthAnswer {
  /** `starting`, `healthy`, `unhealthy`, or `none` without a healthcheck. */
  status: string;
  /** `running`, `exited`, `created`, `paused`, `restarting`, `dead`, `removing` or `removed`. */
  state: string;
  exitCode: number;
  /** The last probe's output (why it is unhealthy). */
  lastOutput: string;
}

export interface ContainerListOptions {
  /** Also stopped containers. */
  all?: boolean;
  /** `label` filter values (`key` or `key=value`); every one must match. */
  labels?: string[];
}

export interface ContainerEngine {
  listContainers(options: ContainerListOptions): Promise<ContainerSummary[]>;
  inspectContainer(id: string): Promise<ContainerDetails>;
  /** @returns the new container's id. */
  /** `placement`: where it may go in a cluster (deploy.placement), for the gateway's placement. */
  createContainer(spec: ContainerSpec, placement?: PlacementHints): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** `timeout` in seconds; absent: the container's own stop timeout. */
  stopContainer(id: string, options?: { timeout?: number }): Promise<void>;
  restartContainer(id: string, options?: { timeout?: number }): Promise<void>;
  killContainer(id: string, options?: { signal?: string }): Promise<void>;
  removeContainer(id: string, options?: { force?: boolean; volumes?: boolean }): Promise<void>;
  renameContainer(id: string, name: string): Promise<void>;
  /**
   * Extracts the tar `archive` into the directory `path` of the container (Containers.CopyTo, as
   * `berth cp` does); `copyUidGid` keeps the tar's owners (else root:root).
   */
  copyToContainer(id: string, path: string, archive: Buffer, options?: { copyUidGid?: boolean }): Promise<void>;
  pauseContainer(id: string): Promise<void>;
  unpauseContainer(id: string): Promise<void>;
  /** Resolves with the exit code once the condition holds (`not-running` by default). */
  waitContainer(id: string, options?: { condition?: 'not-running' | 'next-exit' | 'removed'; signal?: AbortSignal }): Promise<number>;
  /**
   * Waits for the container's health (Containers.WaitHealth): answers once the status is one of
   * `until` (default healthy or unhealthy), the container does not run, or `timeoutMs` passed.
   */
  waitHealth(id: string, options?: { until?: string[]; timeoutMs?: number; signal?: AbortSignal }): Promise<HealthAnswer>;
  connectNetwork(network: string, container: string, options?: { aliases?: string[]; ipv4Address?: string }): Promise<void>;
  disconnectNetwork(network: string, container: string): Promise<void>;
}

export interface NetworkEngine {
  listNetworks(options: { labels?: string[]; names?: string[] }): Promise<NetworkSummary[]>;
  createNetwork(request: CreateNetworkRequest): Promise<string>;
  removeNetwork(id: string): Promise<void>;
}

export interface VolumeEngine {
  listVolumes(options: { labels?: string[]; names?: string[] }): Promise<Volume[]>;
  createVolume(request: CreateVolumeRequest): Promise<Volume>;
  removeVolume(name: string, options?: { force?: boolean }): Promise<void>;
}

/** The part of Docker's image inspect document the controller reads. */
export interface ImageDetails {
  Id: string;
  RepoTags: string[];
  Created?: string;
  Size?: number;
  /** When a name was last pointed at the image (pull, build, tag). */
  Metadata?: { LastTagTime?: string };
  Config?: { Healthcheck?: { Test?: string[] } };
}

export interface ImageEngine {
  /** undefined when the image is not in the store. */
  inspectImage(ref: string): Promise<ImageDetails | undefined>;
  /** Pulls `ref` with the client's stored credentials; progress messages go to `onProgress`. */
  pullImage(ref: string, onProgress?: (message: TransferProgress) => void): Promise<TransferProgress | undefined>;
  pushImage(ref: string, onProgress?: (message: TransferProgress) => void): Promise<void>;
  /** Builds from a context tar stream; progress lines go to `onLine`. @returns the image id. */
  buildImage(options: BuildOptions, context: AsyncIterable<Buffer>, onLine?: (line: string) => void): Promise<string>;
  /** @returns what was untagged and deleted. */
  removeImage(ref: string, options?: { force?: boolean }): Promise<Array<{ untagged: string; deleted: string }>>;
}

export interface EventEngine {
  /** The platform's events (new ones only unless `since`), until `signal` aborts. */
  events(options: { filters?: Array<{ key: string; value: string }>; since?: string; signal?: AbortSignal }): AsyncIterable<Event>;
}

/** A stored declaration of a project (the gateway's Compose service, NATS KV underneath). */
export interface Declaration {
  name: string;
  /** The normalized model, JSON (no interpolation environment). */
  modelJson: string;
  /** `running` (kept by the watcher), `stopped`, `updating` (a client is changing it). */
  state: 'running' | 'stopped' | 'updating';
  revision: number;
  updatedAt: string;
  updatedBy: string;
}

export interface DeclarationEngine {
  /** @returns the stored declaration (new revision). ConflictError when `expectedRevision` does not match. */
  putDeclaration(d: Omit<Declaration, 'revision' | 'updatedAt'>, options?: { expectedRevision?: number }): Promise<Declaration>;
  /** undefined when the project is not declared. */
  getDeclaration(name: string): Promise<Declaration | undefined>;
  listDeclarations(): Promise<Declaration[]>;
  deleteDeclaration(name: string): Promise<void>;
  /** The current declarations, then every change, until `signal` aborts. */
  watchDeclarations(signal?: AbortSignal): AsyncIterable<{ operation: 'put' | 'delete'; name: string; declaration?: Declaration }>;
}

export interface Engine extends ContainerEngine, NetworkEngine, VolumeEngine, ImageEngine, EventEngine, DeclarationEngine {
  /** Releases the connections. */
  close(): void;
}
