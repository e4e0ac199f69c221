import type { Readable } from 'node:stream';
import { asNoSpace, type MetadataDb } from '@berth/metadata';
import type { LogEntry, RuntimeDriver, TopResult } from '@berth/runtime';
import { ContainerArchive, type ExtractOptions, type PathStat } from './container-archive.js';
import { ContainerContext } from './container-context.js';
import { createContainer } from './container-create.js';
import { ContainerHealth, type HealthWaitOptions, type HealthWaitResult } from './container-health.js';
import { ContainerFilesystem } from './container-filesystem.js';
import { ContainerIo, type LogsOptions } from './container-io.js';
import { ContainerLifecycle } from './container-lifecycle.js';
import { ContainerQueries, type ContainerSize } from './container-queries.js';
import { ContainerRunner } from './container-runner.js';
import type { ContainerSnapshotter, ImageSource } from './dependencies.js';
import type { FilterInput } from '@berth/filters';
import type { DockerStats } from './docker-stats.js';
import type { HealthClock } from './health-monitor.js';
import type { ContainerInspect } from './inspect.js';
import type { VolumeSource } from './mounts.js';
import type { ContainerNetworking } from './networking.js';
import { updateContainer, type UpdateOptions } from './container-update.js';
import type {
  AttachHandle,
  AttachOptions,
  CommitInfo,
  ContainerEvent,
  ContainerRecord,
  ContainerSummary,
  CreateOptions,
  ExecHandle,
  ExecStartOptions,
  ListOptions,
  WaitCondition,
} from './types.js';
import type { Logger } from '@berth/log';

export { mergeConfig, mergeEnv } from './config-merge.js';
export type { LogsOptions } from './container-io.js';
export type { UpdateOptions } from './container-update.js';
export type { ExtractOptions, PathStat } from './container-archive.js';
export type { ContainerSize } from './container-queries.js';

export interface ContainerManagerOptions {
  /** `<data-root>`: containers/<id>/ bundles live under it (see layout.ts). */
  dataRoot: string;
  /** Volatile state (`/run/berth`, a temp dir in tests). */
  runRoot: string;
  db: MetadataDb;
  images: ImageSource;
  snapshotter: ContainerSnapshotter;
  runtime: RuntimeDriver;
  onEvent?: (event: ContainerEvent) => void;
  /** Container networking (@berth/network); without it containers get a private loopback-only netns. */
  network?: ContainerNetworking;
  /** Named and anonymous volumes (@berth/volumes VolumeStore); without it, volume mounts are refused. */
  volumes?: VolumeSource;
  /** The healthchecks' clock (tests); default the system's. */
  healthClock?: HealthClock;
  /** Failures nobody waits for (an exit handled late, a sweep that failed, a health state it could not save), one line each. */
  log?: Logger;
}

/**
 * Docker's container lifecycle on one host: create (image → snapshot → bundle dir), start (mount,
 * OCI spec, runc through conmon), exit handling (exit code, OOM, restart policy, --rm), stop, kill,
 * pause, remove, rename, wait, list, inspect, logs, exec, top, stats, diff, export.
 *
 * A facade over its parts, one concern each: `createContainer` (container-create.ts), the lifecycle
 * verbs (container-lifecycle.ts) over the runner that owns each run (container-runner.ts), queries
 * and views (container-queries.ts), I/O (container-io.ts), the filesystem (container-filesystem.ts),
 * healthchecks (container-health.ts) and the config merge (config-merge.ts); they share a ContainerContext.
 *
 * Every state-changing operation on one container runs under a per-id mutex; the exit of a run is
 * handled under the same mutex, so a caller never sees a half-applied transition. Records persist
 * in the metadata database, so a new manager on the same data root (`init`) picks up where an
 * earlier agent process left off: conmon keeps containers running while the agent is down.
 */
export class ContainerManager {
  private readonly ctx: ContainerContext;
  private readonly options: ContainerManagerOptions;
  private readonly lifecycle: ContainerLifecycle;
  private readonly queries: ContainerQueries;
  private readonly io: ContainerIo;
  private readonly fs: ContainerFilesystem;
  private readonly health: ContainerHealth;
  private readonly archives: ContainerArchive;

  constructor(options: ContainerManagerOptions) {
    this.options = options;
    this.ctx = new ContainerContext(options);
    this.health = new ContainerHealth(this.ctx, { runtime: options.runtime, clock: options.healthClock, log: options.log });
    const runner = new ContainerRunner(this.ctx, { ...options, health: this.health });
    this.lifecycle = new ContainerLifecycle(this.ctx, runner, options, this.health);
    this.queries = new ContainerQueries(this.ctx, options);
    this.io = new ContainerIo(this.ctx, options.runtime);
    this.fs = new ContainerFilesystem(this.ctx, options.snapshotter);
    this.archives = new ContainerArchive(this.ctx, options.snapshotter);
  }

  /** See ContainerLifecycle.init: adopts, collects or restarts what an earlier agent left. */
  init(): Promise<void> {
    return this.lifecycle.init();
  }

  /** Stops watching (timers) without touching the containers: they keep running under conmon. */
  close(): void {
    this.lifecycle.close();
  }

  /** See createContainer. @returns the new container's id (64 hex). */
  create(options: CreateOptions): Promise<string> {
    return this.refusingOnFullDisk(createContainer(this.ctx, this.options, options));
  }

  start(idOrName: string): Promise<void> {
    return this.refusingOnFullDisk(this.lifecycle.start(idOrName));
  }

  stop(idOrName: string, options: { timeout?: number } = {}): Promise<void> {
    return this.refusingOnFullDisk(this.lifecycle.stop(idOrName, options));
  }

  kill(idOrName: string, options: { signal?: string | number } = {}): Promise<void> {
    return this.refusingOnFullDisk(this.lifecycle.kill(idOrName, options));
  }

  restart(idOrName: string, options: { timeout?: number } = {}): Promise<void> {
    return this.refusingOnFullDisk(this.lifecycle.restart(idOrName, options));
  }

  pause(idOrName: string): Promise<void> {
    return this.refusingOnFullDisk(this.lifecycle.pause(idOrName));
  }

  unpause(idOrName: string): Promise<void> {
    return this.refusingOnFullDisk(this.lifecycle.unpause(idOrName));
  }

  remove(idOrName: string, options: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    return this.refusingOnFullDisk(this.lifecycle.remove(idOrName, options));
  }

  wait(idOrName: string, options: { condition?: WaitCondition } = {}): Promise<number> {
    return this.lifecycle.wait(idOrName, options);
  }

  /**
   * Waits for a container's health (Compose's `service_healthy`, `up --wait`): see
   * ContainerHealth.wait. NotFoundError `No such container: x`.
   */
  waitHealth(idOrName: string, options: HealthWaitOptions = {}): Promise<HealthWaitResult> {
    return this.health.wait(this.ctx.resolve(idOrName), options);
  }

  /** `docker update` (see updateContainer). @returns Docker's warnings. */
  update(idOrName: string, options: UpdateOptions): Promise<string[]> {
    return this.refusingOnFullDisk(updateContainer(this.ctx, this.options.runtime, idOrName, options));
  }

  rename(idOrName: string, newName: string): Promise<void> {
    return this.refusingOnFullDisk(this.lifecycle.rename(idOrName, newName));
  }

  /** See ContainerLifecycle.prune. */
  prune(filters?: FilterInput): Promise<{ deleted: string[]; spaceReclaimed: number }> {
    return this.refusingOnFullDisk(this.lifecycle.prune(filters));
  }

  list(options: ListOptions = {}): Promise<ContainerSummary[]> {
    return this.queries.list(options);
  }

  /** How many containers are in each `ps` state (ContainerQueries.stateCounts). */
  stateCounts(): Map<string, number> {
    return this.queries.stateCounts();
  }

  inspect(idOrName: string): Promise<ContainerInspect> {
    return this.queries.inspect(idOrName);
  }

  /** Docker's SizeRw and SizeRootFs (`inspect --size`, `ps -s`, `system df -v`); see ContainerQueries.size. */
  size(idOrName: string): Promise<ContainerSize> {
    return this.queries.size(this.ctx.mustGet(this.ctx.resolve(idOrName)));
  }

  get(idOrName: string): ContainerRecord {
    return this.queries.get(idOrName);
  }

  /** See ContainerContext.resolve: full id from an id, a name or a unique id prefix. */
  resolve(idOrName: string): string {
    return this.ctx.resolve(idOrName);
  }

  volumeUsers(name: string): string[] {
    return this.queries.volumeUsers(name);
  }

  usedBy(imageId: string): string[] {
    return this.queries.usedBy(imageId);
  }

  diff(idOrName: string): Promise<Array<{ kind: 'A' | 'C' | 'D'; path: string }>> {
    return this.fs.diff(idOrName);
  }

  export(idOrName: string): Promise<Readable> {
    return this.refusingOnFullDisk(this.fs.export(idOrName));
  }

  /** `docker cp` (see ContainerArchive): the stat of a path in the container. */
  statPath(idOrName: string, path: string): Promise<PathStat> {
    return this.archives.stat(idOrName, path);
  }

  /** `docker cp CONTAINER:PATH …`: a tar of the path and its stat. */
  archivePath(idOrName: string, path: string): Promise<{ stat: PathStat; stream: Readable }> {
    return this.archives.archive(idOrName, path);
  }

  /** `docker cp … CONTAINER:DIR`: extracts a tar into a directory of the container. */
  extractToDir(idOrName: string, path: string, content: Readable, options: ExtractOptions = {}): Promise<void> {
    return this.refusingOnFullDisk(this.archives.extract(idOrName, path, content, options));
  }

  commitInfo(idOrName: string): Promise<CommitInfo> {
    return this.fs.commitInfo(idOrName);
  }

  /**
   * Docker's container `commit` event, once an image was made from the container (`comment`,
   * `imageID`, `imageRef` attributes, the last '' without a name).
   */
  committed(idOrName: string, image: { comment: string; imageID: string; imageRef: string }): void {
    this.ctx.emit('commit', this.ctx.mustGet(this.ctx.resolve(idOrName)), image);
  }

  logs(idOrName: string, options: LogsOptions = {}): AsyncIterable<LogEntry> {
    return this.io.logs(idOrName, options);
  }

  attach(idOrName: string, options: AttachOptions): Promise<AttachHandle> {
    return this.io.attach(idOrName, options);
  }

  exec(idOrName: string, options: ExecStartOptions): Promise<ExecHandle> {
    return this.refusingOnFullDisk(this.io.exec(idOrName, options));
  }

  top(idOrName: string, psArgs?: string[]): Promise<TopResult> {
    return this.io.top(idOrName, psArgs);
  }

  stats(idOrName: string): Promise<DockerStats> {
    return this.io.stats(idOrName);
  }

  /**
   * A full data root, whatever the layer that hit it (SQLite, a file write, the snapshotter), reaches
   * the caller as one error: FailedPreconditionError NO_SPACE naming the data root (see
   * @berth/metadata no-space.ts). Nothing was changed, or what was already true is kept in memory.
   */
  private async refusingOnFullDisk<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (err) {
      throw asNoSpace(err, this.ctx.layout.dataRoot);
    }
  }
}
