import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { ConflictError, InvalidArgumentError, NotFoundError, isBerthError, messageOf } from '@berth/errors';
import type { MetadataDb } from '@berth/metadata';
import { listChanges, packDirectory } from '@berth/layers';
import { mountAll, unmount } from '@berth/snapshots';
import {
  demuxFrames,
  generateSpec,
  readLogs,
  resolveCommand,
  resolveUser,
  type ContainerStats,
  type ExecOptions,
  type LogEntry,
  type ReadLogsOptions,
  type TopResult,
} from '@berth/runtime';
import { ContainerStore, nameInUse } from './container-store.js';
import { emptyDockerStats, toDockerStats, type DockerStats } from './docker-stats.js';
import type { ContainerSnapshotter, ExecSessionLike, ImageSource, RuntimeDriver } from './dependencies.js';
import { writeHostname, writeHosts, writeResolvConf } from './etc-files.js';
import { toInspect, toSummary, type ContainerInspect } from './inspect.js';
import { KeyedMutex } from './keyed-mutex.js';
import { ContainerLayout } from './layout.js';
import { CommandNotRunnableError, lookPath } from './look-path.js';
import { isMountpoint } from './mountinfo.js';
import { anonymousVolumeNames, prepareMounts, removeVolumes, resolveMounts, usesVolume, withSystemMounts, type VolumeSource } from './mounts.js';
import { generateName, normalizeName } from './names.js';
import { withNetworkInspect, withNetworkSummary, type ContainerNetworking } from './networking.js';
import { RestartManager, restartsOnAgentStart } from './restart-manager.js';
import { parseSignal } from './signals.js';
import { createdState, statusOf, zeroTime } from './state.js';
import type {
  AttachHandle,
  AttachOptions,
  CommitInfo,
  ContainerConfig,
  ContainerEvent,
  ContainerRecord,
  ContainerSummary,
  CreateOptions,
  ExecHandle,
  ExecStartOptions,
  HostConfig,
  ListOptions,
  RestartPolicy,
  WaitCondition,
} from './types.js';

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
}

/** In-memory state of one container while this process manages it (rebuilt by `init`). */
interface Live {
  restart: RestartManager;
  /** Bumped at every start: an exit of an older run is ignored. */
  generation: number;
  /** Resolves once the current run's exit has been handled (state written, cleanup done). */
  exited?: Deferred<void>;
  restartTimer?: NodeJS.Timeout;
  removing?: boolean;
  waiters: Set<Waiter>;
  /** Attach sessions to connect at the next start, between runtime create and start. */
  pendingAttaches: Set<PendingAttach>;
}

interface PendingAttach {
  /** Connects to the runtime's attach socket; resolves once connected (output then flows). */
  connect(): Promise<void>;
  /** The start failed: end the session. */
  cancel(): void;
}

interface Waiter {
  condition: WaitCondition;
  resolve: (exitCode: number) => void;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const defaultStopTimeout = 10;

/** `docker logs` options (see @berth/runtime readLogs); `follow` ends when the container stops. */
export type LogsOptions = Omit<ReadLogsOptions, 'pollMs'>;

/**
 * Docker's container lifecycle on one host: create (image → snapshot → bundle dir), start (mount,
 * OCI spec, runc through conmon), exit handling (exit code, OOM, restart policy, --rm), stop, kill,
 * pause, remove, rename, wait, list, inspect, logs, exec, top, stats, diff, export.
 *
 * Every state-changing operation on one container runs under a per-id mutex; the exit of a run is
 * handled under the same mutex, so a caller never sees a half-applied transition. Records persist
 * in the metadata database, so a new manager on the same data root (`init`) picks up where an
 * earlier agent process left off: conmon keeps containers running while the agent is down.
 */
export class ContainerManager {
  private readonly layout: ContainerLayout;
  private readonly store: ContainerStore;
  private readonly locks = new KeyedMutex();
  private readonly live = new Map<string, Live>();
  /** Names reserved by creates in flight (the row is inserted only at the end of create). */
  private readonly reservedNames = new Set<string>();
  private readonly images: ImageSource;
  private readonly snapshotter: ContainerSnapshotter;
  private readonly runtime: RuntimeDriver;
  private readonly network?: ContainerNetworking;
  private readonly volumes?: VolumeSource;
  private readonly onEvent: (event: ContainerEvent) => void;
  private closed = false;
  /** Aborts the exit watchers on close. */
  private readonly watchers = new AbortController();
  /** The last stats sample per container (Docker's precpu_stats). */
  private readonly lastStats = new Map<string, ContainerStats>();

  constructor(options: ContainerManagerOptions) {
    this.layout = new ContainerLayout(options.dataRoot, options.runRoot);
    this.store = new ContainerStore(options.db);
    this.images = options.images;
    this.snapshotter = options.snapshotter;
    this.runtime = options.runtime;
    this.network = options.network;
    this.volumes = options.volumes;
    this.onEvent = options.onEvent ?? (() => {});
  }

  /**
   * Reconciles the records with reality after an agent (re)start. A container recorded as running
   * or paused whose process still lives is adopted (its exit will be handled here); one that died
   * meanwhile gets its exit code from conmon's exit file (255 when there is none) and its restart
   * policy applied. Stopped containers with `always`, or `unless-stopped` and not stopped by the
   * user, are started again, as Docker does when its daemon starts.
   */
  async init(): Promise<void> {
    await mkdir(this.layout.containersDir, { recursive: true });
    await mkdir(this.layout.runRoot, { recursive: true });
    for (const record of this.store.all()) {
      await this.locks.run(record.Id, () => this.reconcileLocked(record.Id)).catch((err: unknown) => {
        // One broken container must not keep the agent from starting: record why and go on.
        const rec = this.store.get(record.Id);
        if (rec === undefined) return;
        rec.State.Error = `Cannot restore container: ${messageOf(err)}`;
        this.store.update(rec);
      });
    }
  }

  /** One container of `init` (see there). */
  private async reconcileLocked(id: string): Promise<void> {
    const rec = this.store.get(id);
    if (rec === undefined) return;
    const live = this.liveOf(rec);
    if (rec.State.Status === 'removing') {
      // The agent died while removing it: finish the job.
      await this.removeLocked(rec);
      return;
    }
    if (rec.State.Running && !rec.State.Restarting) {
      const state = (await this.runtime.conmonAlive(rec.Id)) ? await this.runtimeState(rec.Id) : undefined;
      if (state !== undefined && (state.status === 'running' || state.status === 'paused')) {
        rec.State.Pid = state.pid;
        rec.State.Paused = state.status === 'paused';
        rec.State.Status = statusOf(rec.State);
        this.store.update(rec);
        this.watch(rec, live);
        return;
      }
      let exitCode = await this.runtime.exitCode(rec.Id).catch(() => undefined);
      if (exitCode === undefined && (await this.runtime.conmonAlive(rec.Id))) {
        // Exited just now: conmon is about to write the code.
        exitCode = await this.runtime.waitExit(rec.Id, AbortSignal.timeout(5_000)).catch(() => undefined);
      }
      live.exited = deferred();
      await this.handleExitLocked(rec, live, exitCode ?? 255);
      return;
    }
    // Waiting for a policy restart when the agent stopped, or a policy that restarts on agent start.
    const wantsStart =
      rec.State.Restarting ||
      (!rec.State.Running && rec.HasBeenStartedBefore && restartsOnAgentStart(rec.HostConfig.RestartPolicy, rec.ManuallyStopped));
    if (wantsStart) {
      if (rec.State.Restarting) rec.RestartCount++;
      await this.startLocked(rec, live, { userStart: false }).catch(() => {});
    }
  }

  /** Stops watching (timers) without touching the containers: they keep running under conmon. */
  close(): void {
    this.closed = true;
    this.watchers.abort();
    for (const live of this.live.values()) {
      if (live.restartTimer) clearTimeout(live.restartTimer);
      live.restartTimer = undefined;
    }
  }

  /**
   * Creates a container (state `created`): resolves and unpacks the image, prepares the rw
   * snapshot, merges the config, writes the bundle dir's hostname/hosts/resolv.conf and the record.
   * Errors: InvalidArgumentError (name, command, options), ConflictError (name in use),
   * NotFoundError `No such image: x`. A failure leaves nothing behind.
   * @returns the new container's id (64 hex).
   */
  async create(options: CreateOptions): Promise<string> {
    if (options.autoRemove && options.restartPolicy && options.restartPolicy.name !== '' && options.restartPolicy.name !== 'no') {
      throw new InvalidArgumentError("can't create 'AutoRemove' container with restart policy");
    }
    const restartPolicy = checkRestartPolicy(options.restartPolicy);
    if (options.stopSignal) parseSignal(options.stopSignal);
    const name = options.name !== undefined && options.name !== '' ? normalizeName(options.name) : this.freshName();
    const holder = this.store.idByName(name);
    if (holder !== undefined) throw nameInUse(name, holder);
    if (this.reservedNames.has(name)) throw nameInUse(name, 'in creation');
    this.reservedNames.add(name);
    const id = randomBytes(32).toString('hex');
    let snapshotPrepared = false;
    let dirMade = false;
    let networkRecorded = false;
    let createdVolumes: string[] = [];
    try {
      const image = await this.images.resolve(options.image);
      const imageConfig = image.config.config ?? {};
      const argv = resolveCommand(
        { Entrypoint: imageConfig.Entrypoint ?? null, Cmd: imageConfig.Cmd ?? null },
        { entrypoint: options.entrypoint, cmd: options.cmd },
      );
      const parent = await this.images.unpack(image.id);
      await this.snapshotter.prepare(id, parent);
      snapshotPrepared = true;
      const bundle = this.layout.bundleDir(id);
      await mkdir(this.layout.rootfs(id), { recursive: true });
      dirMade = true;

      const hostname = options.hostname || id.slice(0, 12);
      const config = mergeConfig(options, imageConfig, hostname);
      let networkMode = 'default';
      if (this.network) {
        networkRecorded = true;
        const net = await this.network.create({ id, name, exposedPorts: Object.keys(config.ExposedPorts ?? {}) }, options.network ?? {});
        networkMode = net.networkMode;
        // Docker lists `-p` and `--expose` ports among the exposed ones.
        if (net.exposedPorts.length > 0) config.ExposedPorts = Object.fromEntries(net.exposedPorts.map((key) => [key, {}]));
      }
      const mounts = await resolveMounts(
        { binds: options.binds, mounts: options.mounts, tmpfs: options.tmpfs, volumesFrom: options.volumesFrom, imageVolumes: imageConfig.Volumes },
        { volumes: this.volumes, mountsOf: (c) => this.mustGet(this.resolve(c)).MountPoints ?? [] },
      );
      createdVolumes = mounts.created;
      const hostConfig: HostConfig = {
        NetworkMode: networkMode,
        RestartPolicy: restartPolicy,
        AutoRemove: options.autoRemove ?? false,
        Init: options.init ?? false,
        Memory: options.resources?.memory ?? 0,
        NanoCpus: options.resources?.nanoCpus ?? 0,
        PidsLimit: options.resources?.pidsLimit ?? null,
        LogConfig: { Type: 'k8s-file', Config: {} },
        Binds: options.binds?.length ? options.binds : null,
        Mounts: options.mounts ?? [],
        Tmpfs: options.tmpfs ?? {},
        VolumesFrom: options.volumesFrom?.length ? options.volumesFrom : null,
      };
      await writeHostname(this.layout.hostnamePath(id), hostname);
      await writeHosts(this.layout.hostsPath(id), hostname, config.Domainname);
      await writeResolvConf(this.layout.resolvConfPath(id));
      const record: ContainerRecord = {
        Id: id,
        Name: name,
        Created: new Date().toISOString(),
        Image: image.id,
        ImageRef: options.image,
        Path: argv[0]!,
        Args: argv.slice(1),
        Config: config,
        HostConfig: hostConfig,
        State: createdState(),
        RestartCount: 0,
        SnapshotKey: id,
        SnapshotParent: parent,
        BundleDir: bundle,
        LogPath: this.layout.logPath(id),
        ResolvConfPath: this.layout.resolvConfPath(id),
        HostnamePath: this.layout.hostnamePath(id),
        HostsPath: this.layout.hostsPath(id),
        ManuallyStopped: false,
        HasBeenStartedBefore: false,
        MountPoints: mounts.points,
      };
      this.store.insert(record);
      this.emit('create', record);
      return id;
    } catch (err) {
      if (snapshotPrepared) await this.snapshotter.remove(id).catch(() => {});
      if (dirMade) await rm(this.layout.bundleDir(id), { recursive: true, force: true }).catch(() => {});
      if (networkRecorded) await this.network?.remove(id).catch(() => {});
      if (this.volumes) await removeVolumes(this.volumes, createdVolumes).catch(() => {});
      throw err;
    } finally {
      this.reservedNames.delete(name);
    }
  }

  /**
   * Starts a created or exited container (a no-op when it runs). A command missing from the image
   * sets State.ExitCode 127 (126: not executable) and throws InvalidArgumentError naming it, e.g.
   * `exec: "nosuch": executable file not found in $PATH`; a `--rm` container is then removed.
   * ConflictError for a paused container.
   */
  async start(idOrName: string): Promise<void> {
    const id = this.resolve(idOrName);
    let removeAfterFailure = false;
    try {
      await this.locks.run(id, async () => {
        const rec = this.mustGet(id);
        if (rec.State.Paused) throw new ConflictError('cannot start a paused container, try unpause instead');
        if (rec.State.Running && !rec.State.Restarting) return;
        const live = this.liveOf(rec);
        if (live.restartTimer) clearTimeout(live.restartTimer);
        live.restartTimer = undefined;
        try {
          await this.startLocked(rec, live, { userStart: true });
        } catch (err) {
          removeAfterFailure = rec.HostConfig.AutoRemove;
          throw err;
        }
      });
    } finally {
      if (removeAfterFailure) await this.remove(id, { force: true }).catch(() => {});
    }
  }

  /**
   * Stops a running container: its stop signal (`--stop-signal`, the image's STOPSIGNAL, SIGTERM),
   * then SIGKILL after `timeout` seconds (default: the container's StopTimeout, else 10; -1 waits
   * forever). Marks it stopped by the user, so restart policies leave it alone. No-op when it is
   * not running; a container waiting to be restarted is just marked exited.
   */
  async stop(idOrName: string, options: { timeout?: number } = {}): Promise<void> {
    const id = this.resolve(idOrName);
    const exited = await this.locks.run(id, async () => {
      const rec = this.mustGet(id);
      const live = this.liveOf(rec);
      if (!rec.State.Running) return undefined; // Docker answers 304: nothing changes
      rec.ManuallyStopped = true;
      live.restart.cancel();
      if (rec.State.Restarting) {
        if (live.restartTimer) clearTimeout(live.restartTimer);
        live.restartTimer = undefined;
        rec.State = { ...rec.State, Running: false, Restarting: false, Paused: false, Pid: 0 };
        rec.State.Status = statusOf(rec.State);
        this.store.update(rec);
        this.notify(live, rec.State.ExitCode, false);
        return undefined;
      }
      this.store.update(rec);
      const signal = parseSignal(rec.Config.StopSignal || 'SIGTERM');
      await this.signalLocked(rec, signal.name);
      const timeout = options.timeout ?? rec.Config.StopTimeout ?? defaultStopTimeout;
      return { exited: live.exited!.promise, timeout };
    });
    if (exited === undefined) return;
    if (!(await within(exited.exited, exited.timeout))) {
      await this.locks.run(id, async () => {
        const rec = this.store.get(id);
        if (rec?.State.Running) await this.signalLocked(rec, 'SIGKILL');
      });
      await exited.exited;
    }
    const rec = this.store.get(id);
    if (rec !== undefined) this.emit('stop', rec);
  }

  /**
   * Sends a signal (default SIGKILL) to a running container. Kill with SIGKILL or the stop signal
   * ends restarts like a stop. ConflictError when it does not run.
   */
  async kill(idOrName: string, options: { signal?: string | number } = {}): Promise<void> {
    const id = this.resolve(idOrName);
    const signal = parseSignal(options.signal ?? 'SIGKILL');
    await this.locks.run(id, async () => {
      const rec = this.mustGet(id);
      if (!rec.State.Running || rec.State.Restarting) {
        throw new ConflictError(`Cannot kill container: ${idOrName}: container ${id} is not running`);
      }
      const live = this.liveOf(rec);
      const stopSignal = parseSignal(rec.Config.StopSignal || 'SIGTERM');
      if (signal.name === 'SIGKILL' || signal.name === stopSignal.name) live.restart.cancel();
      rec.ManuallyStopped = true;
      this.store.update(rec);
      await this.signalLocked(rec, signal.name);
    });
  }

  /** Stops (see `stop`) and starts again; restart policy counters start over. Emits `restart`. */
  async restart(idOrName: string, options: { timeout?: number } = {}): Promise<void> {
    const id = this.resolve(idOrName);
    await this.stop(id, options);
    await this.start(id);
    const rec = this.store.get(id);
    if (rec !== undefined) this.emit('restart', rec);
  }

  /** Freezes every process of a running container. ConflictError when not running or already paused. */
  async pause(idOrName: string): Promise<void> {
    const id = this.resolve(idOrName);
    await this.locks.run(id, async () => {
      const rec = this.mustGet(id);
      if (!rec.State.Running || rec.State.Restarting) throw new ConflictError(`Container ${id} is not running`);
      if (rec.State.Paused) throw new ConflictError(`Container ${id} is already paused`);
      await this.runtime.pause(id);
      rec.State.Paused = true;
      rec.State.Status = statusOf(rec.State);
      this.store.update(rec);
      this.emit('pause', rec);
    });
  }

  /** Thaws a paused container. ConflictError when it is not paused. */
  async unpause(idOrName: string): Promise<void> {
    const id = this.resolve(idOrName);
    await this.locks.run(id, async () => {
      const rec = this.mustGet(id);
      if (!rec.State.Paused) throw new ConflictError(`Container ${id} is not paused`);
      await this.runtime.resume(id);
      rec.State.Paused = false;
      rec.State.Status = statusOf(rec.State);
      this.store.update(rec);
      this.emit('unpause', rec);
    });
  }

  /**
   * Removes a container: runtime state, rootfs mount, snapshot, bundle dir, record; emits `destroy`.
   * A running (paused, restarting) one needs `force` (it is killed first), else ConflictError with
   * Docker's text. `volumes` (`rm -v`) also removes the container's anonymous volumes that no other
   * container uses (a `--rm` container's always go).
   */
  async remove(idOrName: string, options: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const id = this.resolve(idOrName);
    const exited = await this.locks.run(id, async () => {
      const rec = this.mustGet(id);
      const live = this.liveOf(rec);
      if (rec.State.Running && !options.force) {
        const why = rec.State.Paused
          ? 'container is paused and must be unpaused first'
          : rec.State.Restarting
            ? 'container is restarting: stop the container before removing or force remove'
            : 'container is running: stop the container before removing or force remove';
        throw new ConflictError(`cannot remove container "${rec.Name}": ${why}`);
      }
      live.removing = true;
      live.restart.cancel();
      if (live.restartTimer) clearTimeout(live.restartTimer);
      live.restartTimer = undefined;
      if (rec.State.Running && !rec.State.Restarting) {
        await this.signalLocked(rec, 'SIGKILL');
        // Wrapped: a promise returned as is would be awaited under the lock, which the exit handler needs.
        return { exited: live.exited?.promise ?? Promise.resolve() };
      }
      await this.removeLocked(rec, options);
      return undefined;
    });
    if (exited === undefined) return;
    // The exit handler may not come (a runtime that lost the container): do not wait forever.
    await within(exited.exited, 10);
    await this.locks.run(id, async () => {
      const rec = this.store.get(id);
      if (rec !== undefined) await this.removeLocked(rec, options);
    });
  }

  /**
   * Waits for a container: `not-running` (returns at once when it does not run), `next-exit`, or
   * `removed`. Resolves with the exit code. NotFoundError when there is no such container.
   */
  async wait(idOrName: string, options: { condition?: WaitCondition } = {}): Promise<number> {
    const id = this.resolve(idOrName);
    const condition = options.condition ?? 'not-running';
    const rec = this.mustGet(id);
    if (condition === 'not-running' && !rec.State.Running) return rec.State.ExitCode;
    const live = this.liveOf(rec);
    return new Promise<number>((resolve) => live.waiters.add({ condition, resolve }));
  }

  /** Renames a container. InvalidArgumentError for a bad name, ConflictError when it is taken. */
  async rename(idOrName: string, newName: string): Promise<void> {
    const id = this.resolve(idOrName);
    const name = normalizeName(newName);
    await this.locks.run(id, async () => {
      const rec = this.mustGet(id);
      if (rec.Name === name) {
        throw new InvalidArgumentError(`Renaming a container with the same name as its current name`);
      }
      const holder = this.store.idByName(name);
      if (holder !== undefined || this.reservedNames.has(name)) throw nameInUse(name, holder ?? 'in creation');
      const oldName = rec.Name;
      rec.Name = name;
      this.store.update(rec);
      this.emit('rename', rec, { oldName });
    });
  }

  /** Removes every stopped (created, exited, dead) container. @returns the removed ids. */
  async prune(): Promise<string[]> {
    const removed: string[] = [];
    for (const rec of this.store.all()) {
      if (rec.State.Running) continue;
      try {
        await this.remove(rec.Id);
        removed.push(rec.Id);
      } catch (err) {
        // Started or removed meanwhile: not ours to prune.
        if (!isBerthError(err)) throw err;
      }
    }
    return removed;
  }

  /** `docker ps`: newest first; see ListOptions for the filters. */
  async list(options: ListOptions = {}): Promise<ContainerSummary[]> {
    const filters = options.filters ?? {};
    let records = this.store.all();
    if (!options.all && !options.latest && options.limit === undefined && !filters.status) {
      records = records.filter((r) => r.State.Running);
    }
    const ancestors = new Set<string>();
    for (const ref of filters.ancestor ?? []) {
      const image = await this.images.resolve(ref).catch(() => undefined);
      if (image !== undefined) ancestors.add(image.id);
    }
    records = records.filter((r) => matchesFilters(r, filters, ancestors));
    if (options.latest) records = records.slice(0, 1);
    else if (options.limit !== undefined && options.limit > 0) records = records.slice(0, options.limit);
    const now = Date.now();
    return records.map((r) => withNetworkSummary(toSummary(r, now), this.network?.summary(r.Id)));
  }

  /** Docker's ContainerInspectResponse. NotFoundError `No such container: x`. */
  async inspect(idOrName: string): Promise<ContainerInspect> {
    const rec = this.mustGet(this.resolve(idOrName));
    let graph: { upperDir: string; lowerDirs: string[]; mergedDir: string } | undefined;
    try {
      graph = {
        upperDir: this.snapshotter.upperDir(rec.SnapshotKey),
        lowerDirs: await this.snapshotter.lowerDirs(rec.SnapshotKey),
        mergedDir: this.layout.rootfs(rec.Id),
      };
    } catch {
      graph = undefined;
    }
    return withNetworkInspect(toInspect(rec, { graph }), this.network?.inspect(rec.Id));
  }

  /** The raw record (for the agent and tests). NotFoundError `No such container: x`. */
  get(idOrName: string): ContainerRecord {
    return this.mustGet(this.resolve(idOrName));
  }

  /**
   * Full id from a full id, a name (with or without slash) or a unique id prefix.
   * NotFoundError `No such container: x`; InvalidArgumentError for an ambiguous prefix.
   */
  resolve(idOrName: string): string {
    if (idOrName !== '') {
      if (/^[0-9a-f]{64}$/.test(idOrName) && this.store.get(idOrName) !== undefined) return idOrName;
      const byName = this.store.idByName(idOrName.startsWith('/') ? idOrName : `/${idOrName}`);
      if (byName !== undefined) return byName;
      if (/^[0-9a-f]+$/.test(idOrName)) {
        const ids = this.store.idsByPrefix(idOrName);
        if (ids.length === 1) return ids[0]!;
        if (ids.length > 1) {
          throw new InvalidArgumentError(`Multiple IDs found with provided prefix: ${idOrName}`, {
            code: 'AMBIGUOUS_CONTAINER_ID',
          });
        }
      }
    }
    throw new NotFoundError(`No such container: ${idOrName}`, { code: 'NO_SUCH_CONTAINER', detail: { container: idOrName } });
  }

  /** Ids of containers (any state) that mount a volume: the volume store's `usedBy`. */
  volumeUsers(name: string): string[] {
    return this.store.all().filter((rec) => usesVolume(rec.MountPoints, name)).map((rec) => rec.Id);
  }

  /** Ids of containers (any state) created from an image: the image store's `usedBy`. */
  usedBy(imageId: string): string[] {
    return this.store.idsUsingImage(imageId);
  }

  /** Changes of the container's rw layer against its image (`docker diff`). */
  async diff(idOrName: string): Promise<Array<{ kind: 'A' | 'C' | 'D'; path: string }>> {
    const rec = this.mustGet(this.resolve(idOrName));
    return listChanges(this.snapshotter.upperDir(rec.SnapshotKey), await this.snapshotter.lowerDirs(rec.SnapshotKey));
  }

  /**
   * The container's whole filesystem as one plain tar stream (`docker export`). A stopped
   * container's snapshot is mounted on a temporary mountpoint until the stream ends.
   */
  async export(idOrName: string): Promise<Readable> {
    const id = this.resolve(idOrName);
    return this.locks.run(id, async () => {
      const rec = this.mustGet(id);
      const rootfs = this.layout.rootfs(id);
      if (await isMountpoint(rootfs)) {
        const packed = packDirectory(rootfs);
        packed.diffId.catch(() => {});
        return packed.stream;
      }
      const target = await mkdtemp(join(this.layout.runRoot, 'export-'));
      await mountAll(await this.snapshotter.mounts(rec.SnapshotKey), target);
      const { stream, diffId } = packDirectory(target);
      diffId.catch(() => {}); // only the stream matters here; its errors reach the reader
      let cleaned = false;
      const cleanup = () => {
        if (cleaned) return;
        cleaned = true;
        void unmount(target)
          .then(() => rmdir(target))
          .catch(() => {});
      };
      stream.once('end', cleanup);
      stream.once('close', cleanup);
      stream.once('error', cleanup);
      return stream;
    });
  }

  /** What `ImageStore.commit` needs to turn the container into an image. */
  commitInfo(idOrName: string): CommitInfo {
    const rec = this.mustGet(this.resolve(idOrName));
    return { upperDir: this.snapshotter.upperDir(rec.SnapshotKey), imageId: rec.Image, config: rec.Config };
  }

  /**
   * The container's output (`docker logs`), from conmon's log file. With `follow`, lines keep coming
   * until the container stops (for good: not between policy restarts) or `options.signal` aborts.
   */
  async *logs(idOrName: string, options: LogsOptions = {}): AsyncIterable<LogEntry> {
    const rec = this.mustGet(this.resolve(idOrName));
    if (!options.follow) {
      yield* readLogs(rec.LogPath, options);
      return;
    }
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) stop.abort();
    let waiter: Waiter | undefined;
    const live = this.live.get(rec.Id) ?? this.liveOf(rec);
    if (rec.State.Running) {
      waiter = { condition: 'not-running', resolve: () => stop.abort() };
      live.waiters.add(waiter);
    } else {
      stop.abort();
    }
    try {
      yield* readLogs(rec.LogPath, { ...options, follow: true, signal: stop.signal });
    } finally {
      if (waiter) live.waiters.delete(waiter);
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Attaches to the container's stdio (`docker attach`; `docker run` attaches before it starts).
   * On a running container it connects at once; otherwise the session connects when the container
   * is next started, after the runtime created it and before its process runs, so no output is lost.
   * With `logs`, what was already logged is replayed first.
   */
  async attach(idOrName: string, options: AttachOptions): Promise<AttachHandle> {
    const id = this.resolve(idOrName);
    const input = new PassThrough();
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const deliver = (stream: 'stdout' | 'stderr', data: Buffer) =>
      stream === 'stderr' ? options.onStderr(data) : options.onStdout(data);
    if (options.logs) {
      for await (const entry of readLogs(this.mustGet(id).LogPath)) {
        deliver(entry.stream, entry.partial ? entry.line : Buffer.concat([entry.line, Buffer.from('\n')]));
      }
    }
    const connect: PendingAttach = {
      connect: async () => {
        const session = await this.runtime.attach(id);
        if (options.stdin) input.pipe(session.stdin);
        else input.resume();
        const detach = () => session.close();
        options.signal?.addEventListener('abort', detach, { once: true });
        const pump = (async () => {
          for await (const frame of demuxFrames(session.output)) deliver(frame.stream, frame.data);
        })();
        void Promise.allSettled([session.done, pump]).then(() => {
          options.signal?.removeEventListener('abort', detach);
          finish();
        });
      },
      cancel: () => finish(),
    };
    await this.locks.run(id, async () => {
      const rec = this.mustGet(id);
      if (rec.State.Running && !rec.State.Restarting) {
        await connect.connect();
        return;
      }
      const live = this.liveOf(rec);
      live.pendingAttaches.add(connect);
      options.signal?.addEventListener(
        'abort',
        () => {
          if (live.pendingAttaches.delete(connect)) finish();
        },
        { once: true },
      );
    });
    return {
      write: (data) => void input.write(data),
      closeStdin: () => void input.end(),
      resize: (rows, cols) => void this.runtime.resize(id, { height: rows, width: cols }).catch(() => {}),
      done,
    };
  }

  /**
   * Runs a process in a running container (`docker exec`), output to the handlers; the handle takes
   * stdin and resizes and resolves `exitCode` once the process ended and its output was delivered.
   * `user` is resolved inside the container (names allowed). Emits exec_create, exec_start and
   * exec_die (attribute `exitCode`). ConflictError when the container is not running or paused;
   * InvalidArgumentError `OCI runtime exec failed: exec: "x": executable file not found in $PATH`.
   */
  async exec(idOrName: string, options: ExecStartOptions): Promise<ExecHandle> {
    const rec = this.mustGet(this.resolve(idOrName));
    if (!rec.State.Running || rec.State.Restarting) throw new ConflictError(`Container ${rec.Id} is not running`);
    if (rec.State.Paused) throw new ConflictError(`Container ${rec.Id} is paused, unpause the container before exec`);
    if (options.cmd.length === 0) throw new InvalidArgumentError('No exec command specified');
    const base: Omit<ExecOptions, 'stdin' | 'signal'> = { args: options.cmd, env: options.env, cwd: options.workingDir };
    if (options.user) base.user = await resolveUser(this.layout.rootfs(rec.Id), options.user);
    const execId = randomBytes(32).toString('hex');
    const attributes = { execID: execId, execCommand: options.cmd.join(' ') };
    this.emit('exec_create', rec, attributes);
    if (options.detach) {
      await this.runtime.execDetached(rec.Id, base);
      this.emit('exec_start', rec, attributes);
      const ignore = () => {};
      return { id: execId, write: ignore, closeStdin: ignore, resize: ignore, exitCode: Promise.resolve(0) };
    }
    let session: ExecSessionLike;
    try {
      session = await this.runtime.execInteractive(rec.Id, {
        ...base,
        tty: options.tty,
        stdin: options.stdin,
        consoleSize: options.consoleSize,
        execId,
        signal: options.signal,
      });
    } catch (err) {
      this.emit('exec_die', rec, { ...attributes, exitCode: String(exitCodeOfStartError(err)) });
      throw err;
    }
    this.emit('exec_start', rec, attributes);
    const pump = (async () => {
      for await (const frame of demuxFrames(session.output)) {
        (frame.stream === 'stderr' ? options.onStderr : options.onStdout)?.(frame.data);
      }
    })();
    const exitCode = (async () => {
      const [code] = await Promise.all([session.done, pump.catch(() => {})]);
      this.emit('exec_die', rec, { ...attributes, exitCode: String(code) });
      return code;
    })();
    exitCode.catch(() => {});
    session.stdin.on('error', () => {});
    return {
      id: execId,
      write: (data) => void session.stdin.write(data),
      closeStdin: () => void session.stdin.end(),
      resize: (rows, cols) => void session.resize({ height: rows, width: cols }).catch(() => {}),
      exitCode,
    };
  }

  /** The container's processes as `ps` shows them (`docker top`); ConflictError when not running. */
  async top(idOrName: string, psArgs?: string[]): Promise<TopResult> {
    const rec = this.mustGet(this.resolve(idOrName));
    if (!rec.State.Running || rec.State.Restarting) throw new ConflictError(`Container ${rec.Id} is not running`);
    return this.runtime.top(rec.Id, psArgs);
  }

  /**
   * One Docker-shaped stats sample. `precpu_stats` is the sample of the previous call for this
   * container (zeros on the first call), so a caller polling every second gets `docker stats`
   * figures. A container that is not running gets zeroed stats, like Docker.
   */
  async stats(idOrName: string): Promise<DockerStats> {
    const rec = this.mustGet(this.resolve(idOrName));
    if (!rec.State.Running || rec.State.Restarting) {
      this.lastStats.delete(rec.Id);
      return emptyDockerStats(rec.Id, rec.Name);
    }
    const sample = await this.runtime.stats(rec.Id);
    const previous = this.lastStats.get(rec.Id);
    this.lastStats.set(rec.Id, sample);
    return toDockerStats(rec.Id, rec.Name, sample, previous);
  }

  // ---- internals -------------------------------------------------------------------------------

  private async startLocked(rec: ContainerRecord, live: Live, options: { userStart: boolean }): Promise<void> {
    const id = rec.Id;
    if (options.userStart) {
      live.restart = new RestartManager(rec.HostConfig.RestartPolicy);
      rec.RestartCount = 0;
      rec.ManuallyStopped = false;
    }
    const rootfs = this.layout.rootfs(id);
    await this.runtime.delete(id, { force: true }).catch(() => {});
    try {
      if (!(await isMountpoint(rootfs))) {
        await mkdir(rootfs, { recursive: true });
        await mountAll(await this.snapshotter.mounts(rec.SnapshotKey), rootfs);
      }
      const user = await resolveUser(rootfs, rec.Config.User);
      const cwd = rec.Config.WorkingDir || '/';
      await lookPath(rootfs, rec.Path, { env: rec.Config.Env, workingDir: cwd });
      const bind = (source: string, destination: string) => ({ destination, type: 'bind', source, options: ['rbind', 'rprivate'] });
      const sandbox = await this.network?.start({ id, hostname: rec.Config.Hostname, domainname: rec.Config.Domainname });
      if (sandbox?.hosts !== undefined) await writeFile(rec.HostsPath, sandbox.hosts, { mode: 0o644 });
      if (sandbox?.resolvConf !== undefined) await writeFile(rec.ResolvConfPath, sandbox.resolvConf, { mode: 0o644 });
      const spec = generateSpec({
        id,
        rootfs,
        args: [rec.Path, ...rec.Args],
        env: rec.Config.Tty ? mergeEnv(['TERM=xterm'], rec.Config.Env) : rec.Config.Env,
        cwd,
        user,
        hostname: rec.Config.Hostname,
        terminal: rec.Config.Tty,
        mounts: withSystemMounts(await prepareMounts(rec.MountPoints ?? [], rootfs, this.volumes), [
          bind(rec.HostnamePath, '/etc/hostname'),
          bind(rec.HostsPath, '/etc/hosts'),
          bind(rec.ResolvConfPath, '/etc/resolv.conf'),
        ]),
        init: rec.HostConfig.Init,
        ...(sandbox ? { network: sandbox.namespace } : {}),
        ...(rec.HostConfig.Memory > 0 ? { memory: rec.HostConfig.Memory } : {}),
        ...(rec.HostConfig.NanoCpus > 0 ? { cpus: rec.HostConfig.NanoCpus / 1e9 } : {}),
        ...(rec.HostConfig.PidsLimit ? { pidsLimit: rec.HostConfig.PidsLimit } : {}),
      });
      await writeFile(this.layout.specPath(id), JSON.stringify(spec, null, 2));
      live.generation++;
      live.exited = deferred();
      await this.runtime.create(id, {
        bundle: rec.BundleDir,
        logPath: rec.LogPath,
        terminal: rec.Config.Tty,
        stdin: rec.Config.OpenStdin,
      });
      for (const pending of [...live.pendingAttaches]) {
        live.pendingAttaches.delete(pending);
        await pending.connect().catch(() => pending.cancel());
      }
      await this.runtime.start(id);
      const state = await this.runtimeState(id);
      rec.State = {
        ...rec.State,
        Running: true,
        Paused: false,
        Restarting: false,
        OOMKilled: false,
        Dead: false,
        Pid: state?.pid ?? 0,
        ExitCode: 0,
        Error: '',
        StartedAt: new Date().toISOString(),
        FinishedAt: zeroTime,
      };
      rec.State.Status = statusOf(rec.State);
      rec.HasBeenStartedBefore = true;
      this.store.update(rec);
      this.emit('start', rec);
      this.watch(rec, live);
    } catch (err) {
      await this.runtime.delete(id, { force: true }).catch(() => {});
      await unmount(rootfs).catch(() => {});
      await this.network?.stop(id).catch(() => {});
      const exitCode = exitCodeOfStartError(err);
      const message = messageOf(err);
      rec.State = { ...rec.State, Running: false, Paused: false, Restarting: false, Pid: 0, ExitCode: exitCode, Error: message };
      if (!options.userStart) rec.State.FinishedAt = new Date().toISOString();
      rec.State.Status = statusOf(rec.State);
      this.store.update(rec);
      live.exited?.resolve();
      this.notify(live, exitCode, false);
      for (const pending of live.pendingAttaches) pending.cancel();
      live.pendingAttaches.clear();
      if (err instanceof CommandNotRunnableError) {
        throw new InvalidArgumentError(`failed to create task for container: ${message}`, {
          code: err.exitCode === 127 ? 'COMMAND_NOT_FOUND' : 'COMMAND_NOT_EXECUTABLE',
          detail: { exitCode },
          cause: err,
        });
      }
      throw err;
    }
  }

  /** Waits (in the background) for the current run's exit and handles it. */
  private watch(rec: ContainerRecord, live: Live): void {
    const generation = live.generation;
    if (live.exited === undefined) live.exited = deferred();
    const id = rec.Id;
    this.runtime.waitExit(id, this.watchers.signal).then(
      (exitCode) => this.onExit(id, generation, exitCode),
      () => this.onExit(id, generation, undefined),
    );
  }

  private async onExit(id: string, generation: number, exitCode: number | undefined): Promise<void> {
    if (this.closed) return;
    await this.locks.run(id, async () => {
      const live = this.live.get(id);
      const rec = this.store.get(id);
      if (live === undefined || rec === undefined || live.generation !== generation || !rec.State.Running) return;
      const code = exitCode ?? (await this.runtime.exitCode(id).catch(() => undefined)) ?? 255;
      await this.handleExitLocked(rec, live, code);
    });
  }

  /** Records an exit, cleans the run up, then restarts (policy) or auto-removes. */
  private async handleExitLocked(rec: ContainerRecord, live: Live, exitCode: number): Promise<void> {
    const id = rec.Id;
    const oom = await this.runtime.oomKilled(id).catch(() => false);
    await this.runtime.delete(id, { force: true }).catch(() => {});
    await unmount(this.layout.rootfs(id)).catch(() => {});
    await this.network?.stop(id).catch(() => {});
    const finishedAt = new Date();
    const ranFor = finishedAt.getTime() - Date.parse(rec.State.StartedAt);
    rec.State = {
      ...rec.State,
      Running: false,
      Paused: false,
      Restarting: false,
      OOMKilled: oom,
      Pid: 0,
      ExitCode: exitCode,
      FinishedAt: finishedAt.toISOString(),
    };
    if (oom) this.emit('oom', rec);
    this.emit('die', rec, { exitCode: String(exitCode) });
    const delay = live.removing
      ? undefined
      : live.restart.shouldRestart(exitCode, rec.RestartCount, rec.ManuallyStopped, ranFor);
    if (delay !== undefined) {
      rec.State.Running = true;
      rec.State.Restarting = true;
    }
    rec.State.Status = statusOf(rec.State);
    this.store.update(rec);
    live.exited?.resolve();
    this.notify(live, exitCode, rec.State.Running);
    if (delay !== undefined) {
      live.restartTimer = setTimeout(() => void this.restartByPolicy(id), delay);
    } else if (rec.HostConfig.AutoRemove && !live.removing) {
      await this.removeLocked(rec);
    }
  }

  private async restartByPolicy(id: string): Promise<void> {
    await this.locks.run(id, async () => {
      const live = this.live.get(id);
      const rec = this.store.get(id);
      if (this.closed || live === undefined || rec === undefined || !rec.State.Restarting) return;
      live.restartTimer = undefined;
      if (live.restart.isCanceled) return;
      rec.RestartCount++;
      await this.startLocked(rec, live, { userStart: false }).catch(() => {});
    });
  }

  private async removeLocked(rec: ContainerRecord, options: { volumes?: boolean } = {}): Promise<void> {
    const id = rec.Id;
    const live = this.liveOf(rec);
    rec.State.Status = 'removing';
    this.store.update(rec);
    await this.runtime.delete(id, { force: true }).catch(() => {});
    await unmount(this.layout.rootfs(id)).catch(() => {});
    await this.network?.remove(id);
    try {
      await this.snapshotter.remove(rec.SnapshotKey);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
    await rm(rec.BundleDir, { recursive: true, force: true });
    this.store.delete(id);
    if (this.volumes && (options.volumes || rec.HostConfig.AutoRemove)) {
      // `rm -v` / `--rm`: the container's anonymous volumes go too, unless another container uses them.
      await removeVolumes(this.volumes, anonymousVolumeNames(rec.MountPoints)).catch(() => {});
    }
    this.live.delete(id);
    this.emit('destroy', rec);
    for (const waiter of live.waiters) waiter.resolve(rec.State.ExitCode);
    live.waiters.clear();
  }

  private async signalLocked(rec: ContainerRecord, signal: string): Promise<void> {
    await this.runtime.kill(rec.Id, signal);
    this.emit('kill', rec, { signal: String(parseSignal(signal).number) });
    // A frozen process cannot die: thaw it so the signal is delivered (Docker does the same).
    if (rec.State.Paused && (signal === 'SIGKILL' || signal === parseSignal(rec.Config.StopSignal || 'SIGTERM').name)) {
      await this.runtime.resume(rec.Id).catch(() => {});
      rec.State.Paused = false;
      rec.State.Status = statusOf(rec.State);
      this.store.update(rec);
    }
  }

  private notify(live: Live, exitCode: number, stillRunning: boolean): void {
    for (const waiter of [...live.waiters]) {
      if (waiter.condition === 'next-exit' || (waiter.condition === 'not-running' && !stillRunning)) {
        live.waiters.delete(waiter);
        waiter.resolve(exitCode);
      }
    }
  }

  private async runtimeState(id: string): Promise<{ status: string; pid: number } | undefined> {
    try {
      return await this.runtime.state(id);
    } catch {
      return undefined;
    }
  }

  private liveOf(rec: ContainerRecord): Live {
    let live = this.live.get(rec.Id);
    if (live === undefined) {
      live = {
        restart: new RestartManager(rec.HostConfig.RestartPolicy),
        generation: 0,
        waiters: new Set(),
        pendingAttaches: new Set(),
      };
      this.live.set(rec.Id, live);
    }
    return live;
  }

  private mustGet(id: string): ContainerRecord {
    const rec = this.store.get(id);
    if (rec === undefined) {
      throw new NotFoundError(`No such container: ${id}`, { code: 'NO_SUCH_CONTAINER', detail: { container: id } });
    }
    return rec;
  }

  private freshName(): string {
    for (let retry = 0; ; retry++) {
      const name = `/${generateName(retry > 5 ? retry : 0)}`;
      if (this.store.idByName(name) === undefined && !this.reservedNames.has(name)) return name;
    }
  }

  private emit(action: ContainerEvent['action'], rec: ContainerRecord, attributes: Record<string, string> = {}): void {
    try {
      this.onEvent({
        action,
        id: rec.Id,
        name: rec.Name.slice(1),
        image: rec.ImageRef,
        attributes: { ...rec.Config.Labels, image: rec.ImageRef, name: rec.Name.slice(1), ...attributes },
      });
    } catch {
      // A listener's failure must not break the lifecycle.
    }
  }
}

/** Docker's exit code for a start that failed: 127 command not found, 126 not executable, else 128. */
function exitCodeOfStartError(err: unknown): number {
  if (err instanceof CommandNotRunnableError) return err.exitCode;
  if (isBerthError(err) && err.code === 'COMMAND_NOT_FOUND') return 127;
  if (isBerthError(err) && err.code === 'COMMAND_NOT_EXECUTABLE') return 126;
  return 128;
}

/** Resolves true when `promise` settles within `seconds` (negative: wait forever). */
async function within(promise: Promise<unknown>, seconds: number): Promise<boolean> {
  if (seconds < 0) {
    await promise;
    return true;
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), seconds * 1000)));
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function checkRestartPolicy(policy: CreateOptions['restartPolicy']): RestartPolicy {
  const name = policy?.name || 'no';
  const max = policy?.maximumRetryCount ?? 0;
  if (!['no', 'always', 'unless-stopped', 'on-failure'].includes(name)) {
    throw new InvalidArgumentError(`invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
  if (max < 0) throw new InvalidArgumentError(`invalid restart policy: maximum retry count can't be negative`);
  if (max > 0 && name !== 'on-failure') {
    throw new InvalidArgumentError(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
  }
  return { Name: name, MaximumRetryCount: max };
}

/** Image config + create options → Docker's ContainerConfig (Docker's merge rules). */
export function mergeConfig(
  options: CreateOptions,
  image: NonNullable<import('./dependencies.js').ImageConfigLike['config']>,
  hostname: string,
): ContainerConfig {
  const userCmd = options.cmd ?? [];
  let entrypoint: string[] | null;
  let cmd: string[] | null;
  if (options.entrypoint !== undefined) {
    const reset = options.entrypoint.length === 0 || (options.entrypoint.length === 1 && options.entrypoint[0] === '');
    entrypoint = reset ? null : options.entrypoint;
    cmd = userCmd.length > 0 ? userCmd : null;
  } else {
    entrypoint = image.Entrypoint ?? null;
    cmd = userCmd.length > 0 ? userCmd : (image.Cmd ?? null);
  }
  return {
    Hostname: hostname,
    Domainname: options.domainname ?? '',
    User: options.user ?? image.User ?? '',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    ...(image.ExposedPorts ? { ExposedPorts: emptyObjects(image.ExposedPorts) } : {}),
    Tty: options.tty ?? false,
    OpenStdin: options.openStdin ?? false,
    StdinOnce: options.stdinOnce ?? false,
    Env: mergeEnv(image.Env ?? [], options.env ?? []),
    Cmd: cmd,
    Image: options.image,
    ...(image.Volumes ? { Volumes: emptyObjects(image.Volumes) } : {}),
    WorkingDir: options.workingDir ?? image.WorkingDir ?? '',
    Entrypoint: entrypoint,
    OnBuild: image.OnBuild ?? null,
    Labels: { ...(image.Labels ?? {}), ...(options.labels ?? {}) },
    ...(options.stopSignal || image.StopSignal ? { StopSignal: options.stopSignal || image.StopSignal } : {}),
    ...(options.stopTimeout !== undefined ? { StopTimeout: options.stopTimeout } : {}),
  };
}

/** `KEY=value` lists: later entries replace earlier ones by key; a bare `KEY` removes it. */
export function mergeEnv(base: string[], overrides: string[]): string[] {
  const env = new Map<string, string>();
  for (const entry of [...base, ...overrides]) {
    const eq = entry.indexOf('=');
    if (eq < 0) env.delete(entry);
    else env.set(entry.slice(0, eq), entry);
  }
  return [...env.values()];
}

function emptyObjects(keys: Record<string, object>): Record<string, Record<string, never>> {
  return Object.fromEntries(Object.keys(keys).map((k) => [k, {}]));
}

function matchesFilters(rec: ContainerRecord, filters: Record<string, string[]>, ancestors: Set<string>): boolean {
  const status = rec.State.Status === 'removing' ? 'removing' : statusOf(rec.State);
  for (const [key, values] of Object.entries(filters)) {
    if (values.length === 0) continue;
    const ok = values.some((value) => {
      switch (key) {
        case 'status':
          return status === value;
        case 'name':
          return new RegExp(value).test(rec.Name.slice(1)) || new RegExp(value).test(rec.Name);
        case 'id':
          return rec.Id.startsWith(value);
        case 'label': {
          const eq = value.indexOf('=');
          const labels = rec.Config.Labels ?? {};
          return eq < 0 ? value in labels : labels[value.slice(0, eq)] === value.slice(eq + 1);
        }
        case 'ancestor':
          return ancestors.has(rec.Image) || rec.ImageRef === value;
        default:
          throw new InvalidArgumentError(`Invalid filter '${key}'`);
      }
    });
    if (!ok) return false;
  }
  return true;
}
