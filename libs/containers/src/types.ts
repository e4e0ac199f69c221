/**
 * Domain types of the container store. The persisted record and the objects handed to the edges
 * use Docker's field names and shapes (docker-engine-api/swagger.yaml: ContainerConfig, HostConfig,
 * ContainerState, ContainerInspectResponse, ContainerSummary, RestartPolicy) so that the HTTP API
 * can return them as they are.
 */

import type { HealthConfig } from './health-config.js';
import type { Health } from './health-state.js';
import type { MountOption, MountPoint } from './mounts.js';
import type { ContainerNetworkOptions } from './networking.js';

export type RestartPolicyName = 'no' | 'always' | 'unless-stopped' | 'on-failure';

export interface RestartPolicy {
  Name: RestartPolicyName;
  /** Only for `on-failure`: how many restarts at most; 0 = unlimited. */
  MaximumRetryCount: number;
}

/** What `berth run` / `POST /containers/create` asks for (a subset of Docker's create body). */
export interface CreateOptions {
  /** An image reference or id, as the user gave it (`busybox`, `sha256:…`, a short id). */
  image: string;
  /** `web` or `/web`; generated (`adjective_surname`) when absent. */
  name?: string;
  cmd?: string[];
  /** Overrides the image's entrypoint; `[]` resets it (and then the image's Cmd is not used either). */
  entrypoint?: string[];
  /** `KEY=value` entries, applied over the image's Env by key. */
  env?: string[];
  workingDir?: string;
  user?: string;
  /** Default: the first 12 characters of the id, like Docker. */
  hostname?: string;
  domainname?: string;
  labels?: Record<string, string>;
  tty?: boolean;
  openStdin?: boolean;
  stdinOnce?: boolean;
  /** `--rm`: remove the container once it has exited. */
  autoRemove?: boolean;
  /** `--init`: run a minimal init as PID 1 (recorded; the runtime decides how). */
  init?: boolean;
  restartPolicy?: { name: RestartPolicyName | ''; maximumRetryCount?: number };
  resources?: ResourceOptions;
  stopSignal?: string;
  /** Seconds to wait after the stop signal before SIGKILL (Docker's `StopTimeout`). */
  stopTimeout?: number;
  /** `-v`: `NAME:/path[:mode]`, `/host:/path[:mode]`, `/path` (see mounts.ts parseBind). */
  binds?: string[];
  /** `--mount`. */
  mounts?: MountOption[];
  /** `--tmpfs /path[:options]`: path → options. */
  tmpfs?: Record<string, string>;
  /** `--volumes-from CONTAINER[:ro|:rw]`. */
  volumesFrom?: string[];
  /** `--network`, `-p`, `--dns`, ... (used when the manager has networking). */
  network?: ContainerNetworkOptions;
  /** `--health-*` / `--no-healthcheck` (`Test: ["NONE"]`); merged over the image's HEALTHCHECK. */
  healthcheck?: HealthConfig;
  /** `--privileged`: every capability and device, no seccomp, no masked or read-only paths. */
  privileged?: boolean;
  /** `--cap-add` / `--cap-drop`: names with or without `CAP_`, any case, or `ALL`. */
  capAdd?: string[];
  capDrop?: string[];
  /** `--read-only`: the root filesystem is mounted read-only (volumes, tmpfs and /etc/hosts stay writable). */
  readonlyRootfs?: boolean;
  /** `--security-opt`: `seccomp=unconfined|builtin|<profile JSON>`, `no-new-privileges[=bool]`, `apparmor=…`, `label=…`. */
  securityOpt?: string[];
  /** `--shm-size` in bytes (default 64 MiB). */
  shmSize?: number;
  /** `--sysctl`: namespaced kernel parameters only (Docker's list; see host-options.ts). */
  sysctls?: Record<string, string>;
  /** `--ipc`: '' (private), `private`, `shareable`, `host`, `none`, `container:NAME`. */
  ipcMode?: string;
  /** `--pid`: '', `host`, `container:NAME`. */
  pidMode?: string;
  /** `--uts`: '', `host`. */
  utsMode?: string;
  /** `--cgroupns`: '', `host`, `private`. */
  cgroupnsMode?: string;
  /** `--group-add`: group names (looked up in the container's /etc/group) or gids. */
  groupAdd?: string[];
  /** `--link NAME[:ALIAS]`: legacy links on the default bridge. */
  links?: string[];
  /** `--log-driver` / `--log-opt`; default json-file. */
  logConfig?: { Type: string; Config: Record<string, string> };
  /** `--cidfile`, recorded as Docker's HostConfig.ContainerIDFile (the client writes the file). */
  containerIdFile?: string;
  /** With `tty`: the terminal size the console starts with (Docker's HostConfig.ConsoleSize). */
  consoleSize?: { height: number; width: number };
  /** `-a`: the streams the client attaches to (Config.AttachStdin/Stdout/Stderr). */
  attach?: Array<'stdin' | 'stdout' | 'stderr'>;
  /** `--platform os[/arch[/variant]]`: the image must be of this platform. */
  platform?: string;
}

/** Docker's `--ulimit` (Ulimit): a name without RLIMIT_, lower case. */
export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}

/** Docker's `--device` (DeviceMapping). */
export interface DeviceMapping {
  PathOnHost: string;
  PathInContainer: string;
  CgroupPermissions: string;
}

/** The resource options of create and update (Docker's HostConfig resources; 0 / empty = not set). */
export interface ResourceOptions {
  memory?: number;
  nanoCpus?: number;
  /** 0 = unlimited. */
  pidsLimit?: number;
  /** Memory + swap in bytes; -1 unlimited; 0 = twice `memory` when that is set (Docker's default). */
  memorySwap?: number;
  memoryReservation?: number;
  cpuShares?: number;
  cpusetCpus?: string;
  oomKillDisable?: boolean;
  ulimits?: Ulimit[];
  devices?: DeviceMapping[];
}

/** Docker's ContainerConfig, merged from the image config and the create options. */
export interface ContainerConfig {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  ExposedPorts?: Record<string, Record<string, never>>;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[];
  Cmd: string[] | null;
  Image: string;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir: string;
  Entrypoint: string[] | null;
  OnBuild: string[] | null;
  Labels: Record<string, string>;
  StopSignal?: string;
  StopTimeout?: number;
  Healthcheck?: HealthConfig;
  /** The image's SHELL (runs `CMD-SHELL` healthchecks); absent: `/bin/sh -c`. */
  Shell?: string[];
}

/** The part of Docker's HostConfig this store understands. */
export interface HostConfig {
  NetworkMode: string;
  RestartPolicy: RestartPolicy;
  AutoRemove: boolean;
  Init: boolean;
  Memory: number;
  NanoCpus: number;
  PidsLimit: number | null;
  LogConfig: { Type: string; Config: Record<string, string> };
  /** Volumes and mounts as asked (absent in records made before volumes existed). */
  Binds?: string[] | null;
  Mounts?: MountOption[];
  Tmpfs?: Record<string, string>;
  VolumesFrom?: string[] | null;
  /** Security options (absent in records made before they existed: Docker's defaults). */
  Privileged?: boolean;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  ReadonlyRootfs?: boolean;
  SecurityOpt?: string[] | null;
  /** Resources, namespaces and kernel settings (absent in records made before they existed: Docker's defaults). */
  MemorySwap?: number;
  MemoryReservation?: number;
  CpuShares?: number;
  CpusetCpus?: string;
  OomKillDisable?: boolean;
  Ulimits?: Ulimit[] | null;
  Devices?: DeviceMapping[];
  ShmSize?: number;
  Sysctls?: Record<string, string>;
  IpcMode?: string;
  PidMode?: string;
  UTSMode?: string;
  CgroupnsMode?: string;
  GroupAdd?: string[] | null;
  Links?: string[] | null;
  ContainerIDFile?: string;
  /** `[height, width]`; absent in records made before it existed: `[0, 0]`, as Docker shows none. */
  ConsoleSize?: [number, number];
}

export type ContainerStatus = 'created' | 'restarting' | 'running' | 'removing' | 'paused' | 'exited' | 'dead';

/** Docker's ContainerState. Running stays true while Restarting (as in Docker). */
export interface ContainerState {
  Status: ContainerStatus;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  /** RFC 3339; `0001-01-01T00:00:00Z` when never started (Docker's zero time). */
  StartedAt: string;
  FinishedAt: string;
  /** Present once a container with a healthcheck has started (see health-state.ts). */
  Health?: Health;
}

/**
 * One container as persisted (JSON in `containers.record`). Everything needed to restart, inspect
 * or remove the container after an agent restart is here.
 */
export interface ContainerRecord {
  Id: string;
  /** With the leading slash: `/web`. */
  Name: string;
  Created: string;
  /** Image id (`sha256:…`). */
  Image: string;
  /** The image reference as the user gave it (`busybox`), shown by `ps`. */
  ImageRef: string;
  Path: string;
  Args: string[];
  Config: ContainerConfig;
  HostConfig: HostConfig;
  State: ContainerState;
  RestartCount: number;
  /** The snapshot holding the rootfs (= the container id). */
  SnapshotKey: string;
  /** The top layer chain id the snapshot was prepared on (undefined for an image without layers). */
  SnapshotParent?: string;
  /** `<dataRoot>/containers/<id>`: the OCI bundle directory. */
  BundleDir: string;
  LogPath: string;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  /** Set by stop/kill, cleared by start: `unless-stopped` and `on-failure` do not restart it. */
  ManuallyStopped: boolean;
  HasBeenStartedBefore: boolean;
  /**
   * Internal: set while a start runs (from before the rootfs is mounted until the record says
   * running or failed). Found set at agent start, it means the agent died mid-start (see
   * ContainerRunner.reconcileLocked). Not part of Docker's inspect view.
   */
  StartInProgress?: boolean;
  /**
   * Internal: set from the moment an exit is recorded until the run's host objects (runtime
   * state, mounts, network) are released. Found set at agent start, the release is finished then.
   * Not part of Docker's inspect view.
   */
  TeardownPending?: boolean;
  /** Resolved volumes, binds and tmpfs mounts (Docker's MountPoints; see mounts.ts). */
  MountPoints?: MountPoint[];
}

export interface ContainerEvent {
  action:
    | 'create'
    | 'start'
    | 'die'
    | 'stop'
    | 'kill'
    | 'destroy'
    | 'oom'
    | 'pause'
    | 'unpause'
    | 'restart'
    | 'rename'
    | 'exec_create'
    | 'exec_start'
    | 'exec_die'
    | 'health_status: healthy'
    | 'health_status: unhealthy'
    | 'attach'
    | 'resize'
    | 'export'
    | 'top'
    | 'commit'
    | 'prune'
    | 'archive-path'
    | 'extract-to-dir';
  /** '' for `prune`, which names no container. */
  id: string;
  /** Without the leading slash, as in Docker's event attributes. */
  name: string;
  image: string;
  /** Docker's actor attributes: the container labels plus e.g. `exitCode`, `signal`, `oldName`, `execID`. */
  attributes?: Record<string, string>;
}

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export interface ListOptions {
  /** Include stopped containers (default: only running, paused and restarting ones). */
  all?: boolean;
  /** Docker's `ps` filters (see container-filters.ts). */
  filters?: Record<string, string[]>;
  /** Measure SizeRw and SizeRootFs (`ps -s`). */
  size?: boolean;
  /** At most this many, newest first. */
  limit?: number;
  /** Only the newest one (implies all). */
  latest?: boolean;
}

/** Docker's ContainerSummary (what `docker ps` shows). */
export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Command: string;
  /** Unix seconds. */
  Created: number;
  Ports: unknown[];
  Labels: Record<string, string>;
  State: ContainerStatus;
  /** `Up 5 seconds`, `Exited (0) 3 seconds ago`, `Created`, ... */
  Status: string;
  HostConfig: { NetworkMode: string };
  NetworkSettings: { Networks: Record<string, unknown> };
  Mounts: unknown[];
  /** Docker's summary health (API 1.52), present for a container with a health state. */
  Health?: { Status: Health['Status']; FailingStreak: number };
  /** Bytes of the writable layer's files (with `size`). */
  SizeRw?: number;
  /** SizeRw plus the image's layers (with `size`). */
  SizeRootFs?: number;
  /**
   * Berth's, not Docker's: what it reserves of its host while it runs or is about to (cluster
   * placement weighs it against the host's capacity): memory (its --memory-reservation, else
   * --memory) and CPUs (--cpus) — 0 for an exited or dead container and for no limit.
   */
  Reserved?: { Memory: number; NanoCpus: number };
}

/** What the image store needs to commit a container (`docker commit`). */
export interface CommitInfo {
  /** The container's full id. */
  id: string;
  upperDir: string;
  /** Paths of the upper dir that are not the container's changes (mountpoint stubs): not committed. */
  exclude: string[];
  imageId: string;
  config: ContainerConfig;
}

/** Where a session's output goes (already demultiplexed; with a terminal everything is stdout). */
export interface OutputHandlers {
  onStdout(data: Buffer): void;
  onStderr(data: Buffer): void;
}

/** `docker attach` / the attach half of `docker run`. */
export interface AttachOptions extends OutputHandlers {
  /** Forward `write` to the container's stdin (the container needs `openStdin`). */
  stdin?: boolean;
  /** First replay what the container already logged. */
  logs?: boolean;
  /** Detaches (the container keeps running). */
  signal?: AbortSignal;
}

export interface AttachHandle {
  write(data: Buffer | string): void;
  closeStdin(): void;
  /** Resizes the container's terminal; errors (no terminal, exited) are ignored. */
  resize(rows: number, cols: number): void;
  /** Resolves once the container's output ended (it exited) and was passed on, or on detach. */
  done: Promise<void>;
}

/** `docker exec`. */
export interface ExecStartOptions extends Partial<OutputHandlers> {
  cmd: string[];
  /** `KEY=value` entries over the container's environment. */
  env?: string[];
  /** Default: the container's user; names are looked up in the container's /etc/passwd. */
  user?: string;
  /** Default: the container's working directory. */
  workingDir?: string;
  tty?: boolean;
  /** Forward `write` to the process's stdin. */
  stdin?: boolean;
  /** Start it and return at once (`docker exec -d`): no output, `exitCode` resolves 0 once started. */
  detach?: boolean;
  consoleSize?: { height: number; width: number };
  /** Kills the process when aborted. */
  signal?: AbortSignal;
}

export interface ExecHandle {
  /** Docker's exec id (64 hex). */
  id: string;
  write(data: Buffer | string): void;
  closeStdin(): void;
  resize(rows: number, cols: number): void;
  /** Resolves with the process's exit code once it exited and its output was passed on. */
  exitCode: Promise<number>;
}
