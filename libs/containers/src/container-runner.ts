import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, NotFoundError, isBerthError, messageOf } from '@berth/errors';
import { isNoSpace } from '@berth/metadata';
import { generateSpec, resolveUser, type RuntimeExits, type RuntimeLifecycle } from '@berth/runtime';
import { mountAll, unmount } from '@berth/snapshots';
import { mergeEnv } from './config-merge.js';
import type { ContainerContext } from './container-context.js';
import type { HealthHooks } from './container-health.js';
import { crashPoint } from './crash-point.js';
import type { ContainerSnapshotter } from './dependencies.js';
import { deferred, notifyWaiters, type Live } from './live-state.js';
import { CommandNotRunnableError, lookPath } from './look-path.js';
import { isMountpoint } from './mountinfo.js';
import { announceVolumes, anonymousVolumeNames, prepareMounts, removeVolumes, withSystemMounts, type VolumeSource } from './mounts.js';
import type { ContainerNetworking, NetworkSandbox } from './networking.js';
import { RestartManager, restartsOnAgentStart } from './restart-manager.js';
import { hostSpecOptions, releaseHostOptions } from './host-options.js';
import { linkSettings } from './links.js';
import { logDriverOf, logFileSettings } from './log-driver.js';
import { LogShipper } from './log-shipper.js';
import { resourceSpecOptions } from './resource-options.js';
import { securitySpecOptions } from './security-options.js';
import { parseSignal } from './signals.js';
import { statusOf, zeroTime } from './state.js';
import type { ContainerRecord } from './types.js';
import { warnOnFailure } from '@berth/log';

/** What the runner uses besides the shared context. */
export interface RunnerDeps {
  runtime: RuntimeLifecycle & RuntimeExits;
  snapshotter: Pick<ContainerSnapshotter, 'mounts' | 'remove' | 'exists' | 'upperDir' | 'settled'>;
  network?: Pick<ContainerNetworking, 'start' | 'stop' | 'remove' | 'inspect'>;
  volumes?: VolumeSource;
  /** Healthchecks (container-health.ts), told about every start, adoption, exit and removal. */
  health?: HealthHooks;
}

/**
 * The engine under the lifecycle verbs: one run of a container from mount to exit. Starts it
 * (rootfs mount, OCI spec, runtime create + start), watches for its exit, records the exit and
 * applies the restart policy or `--rm`, removes containers, and reconciles records with reality
 * after an agent restart. Every `…Locked` method expects the caller to hold the container's lock.
 */
export class ContainerRunner {
  constructor(
    private readonly ctx: ContainerContext,
    private readonly deps: RunnerDeps,
  ) {}

  /**
   * One container of `init`: a container recorded as running or paused whose process still lives
   * is adopted (its exit will be handled here); one that died meanwhile gets its exit code from
   * conmon's exit file (255 when there is none) and its restart policy applied. Stopped containers
   * with `always`, or `unless-stopped` and not stopped by the user, are started again.
   */
  async reconcileLocked(id: string): Promise<void> {
    const { runtime } = this.deps;
    const rec = this.ctx.store.get(id);
    if (rec === undefined) return;
    const live = this.ctx.live.of(rec);
    if (rec.State.Status === 'removing') {
      // The agent died while removing it: finish the job.
      await this.removeLocked(rec);
      return;
    }
    if (rec.StartInProgress) {
      await this.finishInterruptedStart(rec, live);
      return;
    }
    if (rec.State.Running && !rec.State.Restarting) {
      const state = (await runtime.conmonAlive(rec.Id)) ? await this.runtimeState(rec.Id) : undefined;
      if (state !== undefined && (state.status === 'running' || state.status === 'paused')) {
        rec.State.Pid = state.pid;
        rec.State.Paused = state.status === 'paused';
        rec.State.Status = statusOf(rec.State);
        if (!rec.State.Paused) this.deps.health?.resumed(rec, { adopted: true });
        this.ctx.store.save(rec);
        this.startLogShipper(rec, live);
        this.watch(rec, live);
        return;
      }
      let exitCode = await runtime.exitCode(rec.Id).catch(() => undefined); // none written yet: conmon is asked below
      if (exitCode === undefined && (await runtime.conmonAlive(rec.Id))) {
        // Exited just now: conmon is about to write the code.
        exitCode = await runtime.waitExit(rec.Id, AbortSignal.timeout(5_000)).catch(() => undefined);
      }
      live.exited = deferred();
      await this.handleExitLocked(rec, live, exitCode ?? 255);
      return;
    }
    // The agent died while releasing a run's host objects (handleExitLocked): finish that first.
    if (rec.TeardownPending) await this.teardownLocked(rec);
    const missing = await this.missingPart(rec);
    if (missing !== undefined) {
      // Its files went away behind our back: it cannot run again; `rm` still removes what is left.
      markDead(rec, `Cannot restore container: ${missing}`);
      this.ctx.store.save(rec);
      return;
    }
    // Waiting for a policy restart when the agent stopped, or a policy that restarts on agent start.
    const wantsStart =
      rec.State.Restarting ||
      (!rec.State.Running && rec.HasBeenStartedBefore && restartsOnAgentStart(rec.HostConfig.RestartPolicy, rec.ManuallyStopped));
    if (wantsStart) {
      if (rec.State.Restarting) rec.RestartCount++;
      // A failed start is recorded in the container's state; the log says it happened at agent start.
      await this.startLocked(rec, live, { userStart: false }).catch((err: unknown) => this.ctx.log.warn({ container: rec.Id, err }, 'Cannot restart the container'));
    }
  }

  /**
   * A start the agent did not live to finish (StartInProgress found at agent start). A container
   * whose process runs is adopted, as it is real; otherwise what the start made is undone and the
   * container is marked Dead with the reason (a `--rm` one is removed), never left looking Created,
   * since the client was told the start failed. A policy restart is simply tried again.
   */
  private async finishInterruptedStart(rec: ContainerRecord, live: Live): Promise<void> {
    const { runtime, network } = this.deps;
    const state = (await runtime.conmonAlive(rec.Id)) ? await this.runtimeState(rec.Id) : undefined;
    rec.StartInProgress = false;
    if (state !== undefined && (state.status === 'running' || state.status === 'paused')) {
      rec.State = { ...rec.State, Running: true, Restarting: false, Paused: state.status === 'paused', Dead: false, Pid: state.pid, ExitCode: 0, Error: '' };
      rec.State.StartedAt = new Date().toISOString(); // when it started exactly died with the agent
      rec.State.FinishedAt = zeroTime;
      rec.State.Status = statusOf(rec.State);
      rec.HasBeenStartedBefore = true;
      this.ctx.store.save(rec);
      this.ctx.emit('start', rec);
      live.exited = deferred();
      this.startLogShipper(rec, live);
      this.watch(rec, live);
      return;
    }
    await runtime.delete(rec.Id, { force: true }).catch((err: unknown) => this.ctx.log.warn({ container: rec.Id, err }, 'Cannot delete the runtime state'));
    const rootfs = this.ctx.layout.rootfs(rec.Id);
    if (await isMountpoint(rootfs)) {
      await unmount(rootfs).catch((err: unknown) => this.ctx.log.warn({ container: rec.Id, err }, 'Cannot unmount the rootfs'));
    }
    await network?.stop(rec.Id).catch((err: unknown) => this.ctx.log.warn({ container: rec.Id, err }, 'Cannot release the network'));
    if (rec.State.Restarting) {
      rec.RestartCount++;
      await this.startLocked(rec, live, { userStart: false }).catch((err: unknown) => this.ctx.log.warn({ container: rec.Id, err }, 'Cannot restart the container'));
      return;
    }
    markDead(rec, 'Cannot start container: the runtime agent stopped while starting it');
    this.ctx.store.save(rec);
    if (rec.HostConfig.AutoRemove) await this.removeLocked(rec);
  }

  /** What a stopped container needs and lost (its snapshot, its bundle dir); undefined when whole. */
  private async missingPart(rec: ContainerRecord): Promise<string | undefined> {
    if (rec.State.Running || rec.State.Dead) return undefined;
    if (!(await this.deps.snapshotter.exists(rec.SnapshotKey))) return `its snapshot "${rec.SnapshotKey}" is missing`;
    if (!existsSync(rec.BundleDir)) return `its bundle directory "${rec.BundleDir}" is missing`;
    return undefined;
  }

  /**
   * Starts a run: mounts the rootfs, checks user and command, writes the OCI spec, creates the
   * container in the runtime, connects pending attaches, starts it and records it running. On
   * failure everything is undone and the failure recorded (exit code 127/126/128, as Docker).
   */
  async startLocked(rec: ContainerRecord, live: Live, options: { userStart: boolean }): Promise<void> {
    const { runtime, snapshotter, network, volumes } = this.deps;
    const { layout } = this.ctx;
    const id = rec.Id;
    if (options.userStart) {
      live.restart = new RestartManager(rec.HostConfig.RestartPolicy);
      rec.RestartCount = 0;
      rec.ManuallyStopped = false;
    }
    const rootfs = layout.rootfs(id);
    await runtime.delete(id, { force: true }).catch(warnOnFailure(this.ctx.log, { container: id }, 'Cannot delete the runtime state of the container before its start'));
    let mounted = false;
    let networkStart: Promise<NetworkSandbox> | undefined;
    try {
      // Written first: an agent that dies from here on finds it at its next start (reconcileLocked).
      // On a full disk this write fails and the start is refused (the failure is recorded below).
      rec.StartInProgress = true;
      this.ctx.store.update(rec);
      // The network sandbox (netns, veths, addresses, ports: `ip` processes) is made while the
      // rootfs mounts and the command is looked up, not after (bench/README.md, "The run path").
      // Its failure is awaited below, or in the cleanup when the mount or the lookup fails first.
      networkStart = network?.start({ id, hostname: rec.Config.Hostname, domainname: rec.Config.Domainname });
      void networkStart?.catch(() => undefined);
      if (!(await isMountpoint(rootfs))) {
        await mkdir(rootfs, { recursive: true });
        await mountAll(await snapshotter.mounts(rec.SnapshotKey), rootfs);
      }
      const user = await resolveUser(rootfs, rec.Config.User);
      const cwd = rec.Config.WorkingDir || '/';
      await lookPath(rootfs, rec.Path, { env: rec.Config.Env, workingDir: cwd });
      const bind = (source: string, destination: string) => ({ destination, type: 'bind', source, options: ['rbind', 'rprivate'] });
      const sandbox = await networkStart;
      const volumeMounts = await prepareMounts(rec.MountPoints ?? [], rootfs, volumes);
      announceVolumes(volumes, 'mount', rec);
      mounted = true;
      const links = linkSettings(rec, { lookup: (c) => this.ctx.find(c), network: this.deps.network });
      if (sandbox?.hosts !== undefined) await writeFile(rec.HostsPath, sandbox.hosts + links.hosts, { mode: 0o644 });
      if (sandbox?.resolvConf !== undefined) await writeFile(rec.ResolvConfPath, sandbox.resolvConf, { mode: 0o644 });
      const spec = generateSpec({
        id,
        rootfs,
        args: [rec.Path, ...rec.Args],
        env: mergeEnv([...(rec.Config.Tty ? ['TERM=xterm'] : []), ...links.env], rec.Config.Env),
        cwd,
        user,
        hostname: rec.Config.Hostname,
        terminal: rec.Config.Tty,
        consoleSize: rec.HostConfig.ConsoleSize && { height: rec.HostConfig.ConsoleSize[0], width: rec.HostConfig.ConsoleSize[1] },
        mounts: withSystemMounts(volumeMounts, [
          bind(rec.HostnamePath, '/etc/hostname'),
          bind(rec.HostsPath, '/etc/hosts'),
          bind(rec.ResolvConfPath, '/etc/resolv.conf'),
        ]),
        init: rec.HostConfig.Init,
        ...(sandbox ? { network: sandbox.namespace } : {}),
        ...resourceSpecOptions(rec.HostConfig),
        ...(await hostSpecOptions(rec, { rootfs, lookup: (c) => this.ctx.find(c) })),
        ...securitySpecOptions(rec.HostConfig),
      });
      await writeFile(layout.specPath(id), JSON.stringify(spec, null, 2), { mode: 0o600 });
      live.generation++;
      live.exited = deferred();
      crashPoint('start-before-runtime');
      const created = await runtime.create(id, {
        bundle: rec.BundleDir,
        logPath: rec.LogPath,
        terminal: rec.Config.Tty,
        stdin: rec.Config.OpenStdin,
        ...monitorLogOptions(rec),
        // Attaches made before the start (`run`) begin connecting while conmon and runc start.
        monitorStarted: () => {
          for (const pending of live.pendingAttaches) pending.prepare?.();
        },
      });
      this.startLogShipper(rec, live);
      crashPoint('start-after-runtime-create');
      for (const pending of [...live.pendingAttaches]) {
        live.pendingAttaches.delete(pending);
        await pending.connect().catch(() => pending.cancel());
      }
      // Taken before the process runs, so that its first output is not older than StartedAt
      // (testcontainers follows logs `since` StartedAt after a restart).
      const startedAt = new Date().toISOString();
      await runtime.start(id);
      crashPoint('start-after-runtime-start');
      rec.State = {
        ...rec.State,
        Running: true,
        Paused: false,
        Restarting: false,
        OOMKilled: false,
        Dead: false,
        // The runtime's init process, which `start` turned into the command (no `runc state` needed).
        Pid: created.pid,
        ExitCode: 0,
        Error: '',
        StartedAt: startedAt,
        FinishedAt: zeroTime,
      };
      rec.State.Status = statusOf(rec.State);
      rec.HasBeenStartedBefore = true;
      this.deps.health?.started(rec);
      rec.StartInProgress = false;
      this.ctx.store.save(rec);
      this.ctx.emit('start', rec);
      this.watch(rec, live);
    } catch (err) {
      // Settled before it is undone; a network failure undid itself, and the start's first failure is the one reported.
      await networkStart?.catch(() => undefined);
      await this.stopLogShipper(live);
      await runtime.delete(id, { force: true }).catch(warnOnFailure(this.ctx.log, { container: id }, 'Cannot delete the runtime state of a failed start'));
      await unmount(rootfs).catch(warnOnFailure(this.ctx.log, { container: id, path: rootfs }, 'Cannot unmount the rootfs of a failed start'));
      // Nothing mounted, or already gone: the failure being recorded is the start's.
      await releaseHostOptions(rec).catch(() => {});
      await network?.stop(id).catch(warnOnFailure(this.ctx.log, { container: id }, 'Cannot release the network of a failed start'));
      if (mounted) announceVolumes(volumes, 'unmount', rec);
      const exitCode = exitCodeOfStartError(err);
      const message = messageOf(err);
      rec.State = { ...rec.State, Running: false, Paused: false, Restarting: false, Pid: 0, ExitCode: exitCode, Error: message };
      if (!options.userStart) rec.State.FinishedAt = new Date().toISOString();
      rec.State.Status = statusOf(rec.State);
      rec.StartInProgress = false;
      this.ctx.store.save(rec);
      live.exited?.resolve();
      notifyWaiters(live, exitCode, false);
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
  watch(rec: ContainerRecord, live: Live): void {
    const generation = live.generation;
    if (live.exited === undefined) live.exited = deferred();
    const id = rec.Id;
    this.deps.runtime
      .waitExit(id, this.ctx.watchers.signal)
      .then(
        (exitCode) => this.onExit(id, generation, exitCode),
        () => this.onExit(id, generation, undefined),
      )
      // Nobody awaits an exit: a failure to handle it must be seen, never crash the process.
      .catch((err: unknown) => this.ctx.log.warn({ container: id, err }, 'Cannot handle the exit of the container'));
  }

  private async onExit(id: string, generation: number, exitCode: number | undefined): Promise<void> {
    if (this.ctx.closed) return;
    await this.ctx.locks.run(id, async () => {
      const live = this.ctx.live.get(id);
      const rec = this.ctx.store.get(id);
      if (live === undefined || rec === undefined || live.generation !== generation || !rec.State.Running) return;
      const written = exitCode ?? (await this.deps.runtime.exitCode(id).catch(() => undefined)); // unreadable: as not written
      if (written === undefined && (await this.deps.runtime.conmonAlive(id).catch(() => false))) {
        // The wait failed, but the monitor runs and wrote no exit: the container has not exited.
        // Waited for again a second later (a wait failing at once again does not spin).
        this.ctx.log.warn({ container: id }, 'Waiting for the exit of the container failed while its monitor runs: waiting again');
        setTimeout(() => this.watch(rec, live), 1_000).unref();
        return;
      }
      // No exit code written (conmon killed with it): 255, as for any unknown exit.
      const code = written ?? 255;
      await this.handleExitLocked(rec, live, code);
    });
  }

  /**
   * Records an exit, cleans the run up, then restarts (policy) or auto-removes. The exit is
   * recorded first (with TeardownPending), as soon as the code is known and the log complete:
   * `stop` and `wait` answer then, while the run's host objects are released under the
   * container's lock, which every verb that uses them takes (start, rm, cp, export, commit); the
   * network release is queued before anything those answers let a client do next. An agent that
   * dies meanwhile finishes the teardown at its next start (reconcileLocked).
   */
  async handleExitLocked(rec: ContainerRecord, live: Live, exitCode: number): Promise<void> {
    const { runtime } = this.deps;
    const id = rec.Id;
    const oom = await runtime.oomKilled(id).catch(() => false);
    // conmon drains the output into its log before it exits: then what it logged is all there is
    // (shipped now if the agent was down meanwhile). Failing, it is waited for no longer.
    await runtime.monitorGone(id).catch(warnOnFailure(this.ctx.log, { container: id }, 'Cannot wait for the monitor of the exited container'));
    this.startLogShipper(rec, live);
    await this.stopLogShipper(live, { done: true });
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
    rec.TeardownPending = true;
    this.deps.health?.stopped(rec);
    if (oom) this.ctx.emit('oom', rec);
    // As Docker (since 25): how long the run lasted, in whole seconds.
    this.ctx.emit('die', rec, { exitCode: String(exitCode), execDuration: String(Math.max(0, Math.floor(ranFor / 1000))) });
    const delay = live.removing
      ? undefined
      : live.restart.shouldRestart(exitCode, rec.RestartCount, rec.ManuallyStopped, ranFor);
    if (delay !== undefined) {
      rec.State.Running = true;
      rec.State.Restarting = true;
    }
    rec.State.Status = statusOf(rec.State);
    this.ctx.store.save(rec);
    live.exited?.resolve();
    notifyWaiters(live, exitCode, rec.State.Running);
    // The answers this lets go (`stop`, `wait`) are written before the teardown forks its first
    // process; a request a client sends on receiving one comes in a later turn of the event loop,
    // after the teardown has queued its network release.
    await new Promise((resolve) => setImmediate(resolve));
    await this.teardownLocked(rec);
    if (delay !== undefined) {
      live.restartTimer = setTimeout(
        () => void this.restartByPolicy(id).catch((err: unknown) => this.ctx.log.warn({ container: id, err }, 'Cannot restart the container')),
        delay,
      );
    } else if (rec.HostConfig.AutoRemove && !live.removing) {
      await this.removeLocked(rec).catch((err: unknown) => {
        // Left Dead with the reason (removeLocked): who waits for its removal (`run --rm`) is
        // answered all the same, as Docker answers them with the removal's error.
        for (const waiter of live.waiters) waiter.resolve(rec.State.ExitCode);
        live.waiters.clear();
        throw err;
      });
    }
  }

  /**
   * Releases what an exited run holds on the host, side by side (each part is idempotent and
   * needs none of the others): the runtime's state and cgroups, the rootfs mount, /dev/shm, the
   * network (netns, veths, addresses, ports). Then clears TeardownPending (reconcileLocked runs
   * it again for a record that still has it).
   */
  private async teardownLocked(rec: ContainerRecord): Promise<void> {
    const { runtime, network, volumes } = this.deps;
    const id = rec.Id;
    const rootfs = this.ctx.layout.rootfs(id);
    await Promise.all([
      runtime.delete(id, { force: true }).catch(warnOnFailure(this.ctx.log, { container: id }, 'Cannot delete the runtime state of the exited container')),
      unmount(rootfs).catch(warnOnFailure(this.ctx.log, { container: id, path: rootfs }, 'Cannot unmount the rootfs of the exited container')),
      releaseHostOptions(rec).catch(warnOnFailure(this.ctx.log, { container: id }, 'Cannot unmount the /dev/shm of the exited container')),
      network?.stop(id).catch(warnOnFailure(this.ctx.log, { container: id }, 'Cannot release the network of the exited container')),
    ]);
    announceVolumes(volumes, 'unmount', rec);
    // A manager closed meanwhile (agent shutdown) leaves the flag: the next one checks again.
    if (this.ctx.closed) return;
    rec.TeardownPending = false;
    this.ctx.store.save(rec);
  }

  private async restartByPolicy(id: string): Promise<void> {
    await this.ctx.locks.run(id, async () => {
      const live = this.ctx.live.get(id);
      const rec = this.ctx.store.get(id);
      if (this.ctx.closed || live === undefined || rec === undefined || !rec.State.Restarting) return;
      live.restartTimer = undefined;
      if (live.restart.isCanceled) return;
      rec.RestartCount++;
      // The failure is in the container's state (State.Error); the log shows the policy gave up.
      await this.startLocked(rec, live, { userStart: false }).catch((err: unknown) => this.ctx.log.warn({ container: id, err }, 'Cannot restart the container'));
    });
  }

  /**
   * Removes a container that does not run: runtime state, rootfs mount, bundle, network, snapshot,
   * record. A removal that fails half-way (a full disk) leaves the container Dead with the reason,
   * as Docker does; `rm -f` again finishes it.
   */
  async removeLocked(rec: ContainerRecord, options: { volumes?: boolean } = {}): Promise<void> {
    try {
      await this.removeParts(rec, options);
    } catch (err) {
      markDead(rec, `Cannot remove container: ${messageOf(err)}`, rec.State.ExitCode);
      this.ctx.store.save(rec);
      throw err;
    }
  }

  private async removeParts(rec: ContainerRecord, options: { volumes?: boolean }): Promise<void> {
    const { runtime, snapshotter, network, volumes } = this.deps;
    const id = rec.Id;
    const live = this.ctx.live.of(rec);
    rec.State.Status = 'removing';
    this.ctx.store.save(rec);
    await this.stopLogShipper(live);
    const rootfs = this.ctx.layout.rootfs(id);
    // Side by side (none needs another; after an exit they find nothing left to do, quickly).
    const [, , shm] = await Promise.all([
      runtime.delete(id, { force: true }).catch(warnOnFailure(this.ctx.log, { container: id }, 'Cannot delete the runtime state of the container')),
      unmount(rootfs).catch(warnOnFailure(this.ctx.log, { container: id, path: rootfs }, 'Cannot unmount the rootfs')),
      releaseHostOptions(rec).then(
        () => undefined,
        (err: unknown) => ({ err }),
      ),
    ]);
    if (shm !== undefined) throw shm.err;
    // Files first, each renamed into a trash, and deleted in the background once the removal is
    // done (Trash of @berth/snapshots: a tree's rmdirs cost 2–7 ms each here). A removal cut
    // short here is finished at the next agent start, and the trash swept then.
    const trashed = await this.trashBundle(rec);
    let discarded = false;
    const discard = () => {
      if (trashed !== undefined && !discarded) this.ctx.trash.discard(trashed);
      discarded = true;
    };
    try {
      await network?.remove(id);
      try {
        await snapshotter.remove(rec.SnapshotKey);
      } catch (err) {
        if (err instanceof NotFoundError) {
          // Gone already (an earlier removal got this far).
        } else if (isNoSpace(err)) {
          await emptyDir(snapshotter.upperDir(rec.SnapshotKey));
          await snapshotter.remove(rec.SnapshotKey);
        } else {
          throw err;
        }
      }
      crashPoint('remove-before-delete');
      try {
        this.ctx.store.remove(id);
      } catch (err) {
        if (!isNoSpace(err)) throw err;
        // On a full disk, what the container wrote (its log, its rw layer) is the space this write needs.
        discard();
        await Promise.all([this.ctx.trash.settled(), snapshotter.settled?.()]);
        this.ctx.store.remove(id);
      }
    } finally {
      discard();
    }
    this.deps.health?.removed(rec);
    if (volumes && (options.volumes || rec.HostConfig.AutoRemove)) {
      // `rm -v` / `--rm`: the container's anonymous volumes go too, unless another container uses them.
      await removeVolumes(volumes, anonymousVolumeNames(rec.MountPoints)).catch(warnOnFailure(this.ctx.log, { container: id, volumes: anonymousVolumeNames(rec.MountPoints) }, 'Cannot remove the anonymous volumes of the removed container'));
    }
    this.ctx.live.delete(id);
    this.ctx.live.recordRemoved(id, rec.State.ExitCode);
    this.ctx.emit('destroy', rec);
    for (const waiter of live.waiters) waiter.resolve(rec.State.ExitCode);
    live.waiters.clear();
  }

  /** Renames the bundle dir into the trash (layout.ts); its path there, undefined when there was none. */
  private async trashBundle(rec: ContainerRecord): Promise<string | undefined> {
    const trashed = join(this.ctx.layout.trashDir, `${rec.Id}-${Date.now()}`);
    try {
      await rename(rec.BundleDir, trashed);
      return trashed;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // Gone already (an earlier removal got this far), or no trash yet (an agent that never ran `init`).
      if (existsSync(rec.BundleDir)) await rm(rec.BundleDir, { recursive: true, force: true });
      return undefined;
    }
  }

  /** json-file / local: starts copying the run's output into the driver's files (log-shipper.ts). */
  private startLogShipper(rec: ContainerRecord, live: Live): void {
    const files = logFileSettings(rec);
    if (!files || live.logShipper) return;
    live.logShipper = new LogShipper(rec.LogPath, files, this.ctx.log);
    live.logShipper.start();
  }

  /** Copies what the run left in the monitor log, then stops. */
  private async stopLogShipper(live: Live, options: { done?: boolean } = {}): Promise<void> {
    const shipper = live.logShipper;
    live.logShipper = undefined;
    await shipper?.stop(options);
  }

  /** Sends a signal; a paused container is thawed when the signal is meant to end it. */
  async signalLocked(rec: ContainerRecord, signal: string): Promise<void> {
    const { runtime } = this.deps;
    await runtime.kill(rec.Id, signal);
    this.ctx.emit('kill', rec, { signal: String(parseSignal(signal).number) });
    // A frozen process cannot die: thaw it so the signal is delivered (Docker does the same).
    if (rec.State.Paused && (signal === 'SIGKILL' || signal === parseSignal(rec.Config.StopSignal || 'SIGTERM').name)) {
      await runtime.resume(rec.Id).catch(warnOnFailure(this.ctx.log, { container: rec.Id }, 'Cannot thaw the container to deliver the signal'));
      rec.State.Paused = false;
      rec.State.Status = statusOf(rec.State);
      this.ctx.store.save(rec);
    }
  }

  private async runtimeState(id: string): Promise<{ status: string; pid: number } | undefined> {
    try {
      return await this.deps.runtime.state(id);
    } catch {
      return undefined;
    }
  }
}

/** The monitor log conmon keeps: none for `--log-driver none`, a small one the shipper copies from for json-file/local. */
function monitorLogOptions(rec: ContainerRecord): { logDriver?: 'none'; logSizeMax?: number } {
  if (logDriverOf(rec) === 'none') return { logDriver: 'none' };
  return logFileSettings(rec) ? { logSizeMax: monitorLogLimit } : {};
}

/** conmon starts the monitor log anew past this size; the shipper keeps up with it. */
const monitorLogLimit = 1024 * 1024;

/** Docker's Dead state, with the reason in State.Error (exit code 128 unless it has one to keep). */
function markDead(rec: ContainerRecord, why: string, exitCode = 128): void {
  rec.State = { ...rec.State, Running: false, Paused: false, Restarting: false, Dead: true, Pid: 0, ExitCode: exitCode, Error: why };
  rec.State.FinishedAt = new Date().toISOString();
  rec.State.Status = statusOf(rec.State);
}

/** Removes what is inside `dir`, not `dir` itself. */
async function emptyDir(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) await rm(join(dir, name), { recursive: true, force: true });
}

/** Docker's exit code for a start that failed: 127 command not found, 126 not executable, else 128. */
export function exitCodeOfStartError(err: unknown): number {
  if (err instanceof CommandNotRunnableError) return err.exitCode;
  if (isBerthError(err) && err.code === 'COMMAND_NOT_FOUND') return 127;
  if (isBerthError(err) && err.code === 'COMMAND_NOT_EXECUTABLE') return 126;
  return 128;
}
