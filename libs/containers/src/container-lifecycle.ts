import { mkdir } from 'node:fs/promises';
import { FilterArgs, pruneUntil, type FilterInput } from '@berth/filters';
import { directorySize } from '@berth/snapshots';
import { ConflictError, FailedPreconditionError, InvalidArgumentError, NotFoundError, isBerthError, messageOf } from '@berth/errors';
import type { RuntimeLifecycle } from '@berth/runtime';
import type { ContainerContext } from './container-context.js';
import type { HealthHooks } from './container-health.js';
import type { ContainerRunner } from './container-runner.js';
import type { ContainerSnapshotter } from './dependencies.js';
import { nameInUse } from './container-store.js';
import { sweepOrphans, type SweepDeps } from './container-sweep.js';
import { notifyWaiters } from './live-state.js';
import { normalizeName } from './names.js';
import { parseSignal } from './signals.js';
import { statusOf } from './state.js';
import type { ContainerRecord, WaitCondition } from './types.js';
import { warnOnFailure } from '@berth/log';

const defaultStopTimeout = 10;

/**
 * Docker's lifecycle verbs on one host: start, stop, kill, restart, pause, unpause, remove, wait,
 * rename, prune, and `init` after an agent (re)start. Each takes the container's lock for its
 * state change; the runs themselves are the runner's.
 */
/** What the lifecycle verbs use besides the runner. */
export interface LifecycleDeps extends SweepDeps {
  runtime: Pick<RuntimeLifecycle, 'pause' | 'resume' | 'delete'>;
  snapshotter: Pick<ContainerSnapshotter, 'list' | 'remove' | 'upperDir'>;
}

export class ContainerLifecycle {
  private readonly runtime: Pick<RuntimeLifecycle, 'pause' | 'resume'>;

  constructor(
    private readonly ctx: ContainerContext,
    private readonly runner: ContainerRunner,
    private readonly deps: LifecycleDeps,
    private readonly health?: HealthHooks & { close(): void },
  ) {
    this.runtime = deps.runtime;
  }

  /**
   * Reconciles the records with reality after an agent (re)start (see ContainerRunner.reconcileLocked),
   * as Docker does when its daemon starts, then sweeps what crashed creates left (container-sweep.ts).
   */
  async init(): Promise<void> {
    await mkdir(this.ctx.layout.containersDir, { recursive: true, mode: 0o700 });
    await mkdir(this.ctx.layout.runRoot, { recursive: true });
    await mkdir(this.ctx.layout.trashDir, { recursive: true, mode: 0o700 });
    for (const record of this.ctx.store.all()) {
      await this.ctx.locks.run(record.Id, () => this.runner.reconcileLocked(record.Id)).catch((err: unknown) => {
        // One broken container must not keep the agent from starting: record why and go on.
        const rec = this.ctx.store.get(record.Id);
        if (rec === undefined) return;
        rec.State.Error = `Cannot restore container: ${messageOf(err)}`;
        this.ctx.store.save(rec);
      });
    }
    await sweepOrphans(this.ctx, this.deps);
  }

  /** Stops watching (timers) without touching the containers: they keep running under conmon. */
  close(): void {
    this.ctx.close();
    this.health?.close();
    for (const live of this.ctx.live.values()) {
      if (live.restartTimer) clearTimeout(live.restartTimer);
      live.restartTimer = undefined;
    }
  }

  /**
   * Starts a created or exited container (a no-op when it runs). A command missing from the image
   * sets State.ExitCode 127 (126: not executable) and throws InvalidArgumentError naming it, e.g.
   * `exec: "nosuch": executable file not found in $PATH`; a `--rm` container is then removed.
   * ConflictError for a paused container.
   */
  async start(idOrName: string): Promise<void> {
    const id = this.ctx.resolve(idOrName);
    let removeAfterFailure = false;
    try {
      await this.ctx.locks.run(id, async () => {
        const rec = this.ctx.mustGet(id);
        if (rec.State.Paused) throw new ConflictError('cannot start a paused container, try unpause instead');
        if (rec.State.Running && !rec.State.Restarting) return;
        const live = this.ctx.live.of(rec);
        if (live.restartTimer) clearTimeout(live.restartTimer);
        live.restartTimer = undefined;
        try {
          await this.runner.startLocked(rec, live, { userStart: true });
        } catch (err) {
          removeAfterFailure = rec.HostConfig.AutoRemove;
          throw err;
        }
      });
    } finally {
      if (removeAfterFailure) await this.remove(id, { force: true }).catch(warnOnFailure(this.ctx.log, { container: id }, 'Cannot auto-remove the container after its failed start'));
    }
  }

  /**
   * Stops a running container: its stop signal (`--stop-signal`, the image's STOPSIGNAL, SIGTERM),
   * then SIGKILL after `timeout` seconds (default: the container's StopTimeout, else 10; -1 waits
   * forever). Marks it stopped by the user, so restart policies leave it alone. No-op when it is
   * not running; a container waiting to be restarted is just marked exited.
   */
  async stop(idOrName: string, options: { timeout?: number } = {}): Promise<void> {
    const id = this.ctx.resolve(idOrName);
    const exited = await this.ctx.locks.run(id, async () => {
      const rec = this.ctx.mustGet(id);
      const live = this.ctx.live.of(rec);
      if (!rec.State.Running) return undefined; // Docker answers 304: nothing changes
      rec.ManuallyStopped = true;
      live.restart.cancel();
      if (rec.State.Restarting) {
        if (live.restartTimer) clearTimeout(live.restartTimer);
        live.restartTimer = undefined;
        rec.State = { ...rec.State, Running: false, Restarting: false, Paused: false, Pid: 0 };
        rec.State.Status = statusOf(rec.State);
        this.ctx.store.save(rec);
        notifyWaiters(live, rec.State.ExitCode, false);
        return undefined;
      }
      this.ctx.store.save(rec);
      const signal = parseSignal(rec.Config.StopSignal || 'SIGTERM');
      await this.signalIfAlive(rec, signal.name);
      const timeout = options.timeout ?? rec.Config.StopTimeout ?? defaultStopTimeout;
      return { exited: live.exited!.promise, timeout };
    });
    if (exited === undefined) return;
    if (!(await within(exited.exited, exited.timeout))) {
      await this.ctx.locks.run(id, async () => {
        const rec = this.ctx.store.get(id);
        if (rec?.State.Running) await this.signalIfAlive(rec, 'SIGKILL');
      });
      await exited.exited;
    }
    const rec = this.ctx.store.get(id);
    if (rec !== undefined) this.ctx.emit('stop', rec);
  }

  /**
   * Sends a signal (default SIGKILL) to a running container. Kill with SIGKILL or the stop signal
   * ends restarts like a stop. ConflictError when it does not run.
   */
  async kill(idOrName: string, options: { signal?: string | number } = {}): Promise<void> {
    const id = this.ctx.resolve(idOrName);
    const signal = parseSignal(options.signal ?? 'SIGKILL');
    await this.ctx.locks.run(id, async () => {
      const rec = this.ctx.mustGet(id);
      if (!rec.State.Running || rec.State.Restarting) {
        throw new ConflictError(`Cannot kill container: ${idOrName}: container ${id} is not running`);
      }
      const live = this.ctx.live.of(rec);
      const stopSignal = parseSignal(rec.Config.StopSignal || 'SIGTERM');
      if (signal.name === 'SIGKILL' || signal.name === stopSignal.name) live.restart.cancel();
      rec.ManuallyStopped = true;
      this.ctx.store.save(rec);
      await this.runner.signalLocked(rec, signal.name);
    });
  }

  /** Stops (see `stop`) and starts again; restart policy counters start over. Emits `restart`. */
  async restart(idOrName: string, options: { timeout?: number } = {}): Promise<void> {
    const id = this.ctx.resolve(idOrName);
    await this.stop(id, options);
    await this.start(id);
    const rec = this.ctx.store.get(id);
    if (rec !== undefined) this.ctx.emit('restart', rec);
  }

  /** Freezes every process of a running container. ConflictError when not running or already paused. */
  async pause(idOrName: string): Promise<void> {
    const id = this.ctx.resolve(idOrName);
    await this.ctx.locks.run(id, async () => {
      const rec = this.ctx.mustGet(id);
      if (!rec.State.Running || rec.State.Restarting) throw new ConflictError(`Container ${id} is not running`);
      if (rec.State.Paused) throw new ConflictError(`Container ${id} is already paused`);
      await this.runtime.pause(id);
      this.recordPaused(rec, true);
    });
  }

  /** Thaws a paused container. ConflictError when it is not paused. */
  async unpause(idOrName: string): Promise<void> {
    const id = this.ctx.resolve(idOrName);
    await this.ctx.locks.run(id, async () => {
      const rec = this.ctx.mustGet(id);
      if (!rec.State.Paused) throw new ConflictError(`Container ${id} is not paused`);
      await this.runtime.resume(id);
      this.recordPaused(rec, false);
    });
  }

  /** What a pause (or unpause) the runtime made changes: state, health probes, the record, an event. */
  private recordPaused(rec: ContainerRecord, paused: boolean): void {
    rec.State.Paused = paused;
    rec.State.Status = statusOf(rec.State);
    if (paused) this.health?.stopped(rec);
    else this.health?.resumed(rec);
    this.ctx.store.save(rec);
    this.ctx.emit(paused ? 'pause' : 'unpause', rec);
  }

  /**
   * Removes a container: runtime state, rootfs mount, snapshot, bundle dir, record; emits `destroy`.
   * A running (paused, restarting) one needs `force` (it is killed first), else ConflictError with
   * Docker's text. `volumes` (`rm -v`) also removes the container's anonymous volumes that no other
   * container uses (a `--rm` container's always go).
   */
  async remove(idOrName: string, options: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const id = this.ctx.resolve(idOrName);
    const exited = await this.ctx.locks.run(id, async () => {
      const rec = this.ctx.mustGet(id);
      const live = this.ctx.live.of(rec);
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
        await this.signalIfAlive(rec, 'SIGKILL');
        // Wrapped: a promise returned as is would be awaited under the lock, which the exit handler needs.
        return { exited: live.exited?.promise ?? Promise.resolve() };
      }
      await this.runner.removeLocked(rec, options);
      return undefined;
    });
    if (exited === undefined) return;
    // The exit handler may not come (a runtime that lost the container): do not wait forever.
    await within(exited.exited, 10);
    await this.ctx.locks.run(id, async () => {
      const rec = this.ctx.store.get(id);
      if (rec !== undefined) await this.runner.removeLocked(rec, options);
    });
  }

  /**
   * Waits for a container: `not-running` (returns at once when it does not run), `next-exit`, or
   * `removed`. Resolves with the exit code. NotFoundError when there is no such container, unless
   * it is a full id of one removed lately (LiveTable.removedExitCode): its exit code then.
   */
  async wait(idOrName: string, options: { condition?: WaitCondition } = {}): Promise<number> {
    const condition = options.condition ?? 'not-running';
    let rec: ContainerRecord;
    try {
      rec = this.ctx.mustGet(this.ctx.resolve(idOrName));
    } catch (err) {
      const removed = err instanceof NotFoundError ? this.ctx.live.removedExitCode(idOrName) : undefined;
      if (removed === undefined) throw err;
      return removed;
    }
    if (condition === 'not-running' && !rec.State.Running) return rec.State.ExitCode;
    const live = this.ctx.live.of(rec);
    return new Promise<number>((resolve) => live.waiters.add({ condition, resolve }));
  }

  /** Renames a container. InvalidArgumentError for a bad name, ConflictError when it is taken. */
  async rename(idOrName: string, newName: string): Promise<void> {
    const id = this.ctx.resolve(idOrName);
    const name = normalizeName(newName);
    await this.ctx.locks.run(id, async () => {
      const rec = this.ctx.mustGet(id);
      if (rec.Name === name) {
        throw new InvalidArgumentError(`Renaming a container with the same name as its current name`);
      }
      const holder = this.ctx.store.idByName(name);
      if (holder !== undefined || this.ctx.reservedNames.has(name)) throw nameInUse(name, holder ?? 'in creation');
      const oldName = rec.Name;
      rec.Name = name;
      this.ctx.store.update(rec);
      this.ctx.emit('rename', rec, { oldName });
    });
  }

  /**
   * Signals a container to end it; one whose process has just exited (its exit not handled yet,
   * the runtime says "not running") needs no signal: the exit handler is about to record it.
   */
  private async signalIfAlive(rec: ContainerRecord, signal: string): Promise<void> {
    try {
      await this.runner.signalLocked(rec, signal);
    } catch (err) {
      if (!(err instanceof FailedPreconditionError) && !(err instanceof NotFoundError)) throw err;
    }
  }

  /**
   * `docker container prune`: removes every stopped (created, exited, dead) container the filters
   * select (`until`: created at or before; `label`: every one holds; `label!`: not all of them
   * hold). Reclaimed space is what their writable layers held, measured as `ps -s` does. Emits
   * Docker's `prune` event (attribute `reclaimed`). InvalidArgumentError `invalid filter 'x'`.
   */
  async prune(filters?: FilterInput): Promise<{ deleted: string[]; spaceReclaimed: number }> {
    const f = FilterArgs.from(filters).validate(['label', 'label!', 'until']);
    const until = pruneUntil(f);
    const deleted: string[] = [];
    let spaceReclaimed = 0;
    for (const rec of this.ctx.store.all()) {
      if (rec.State.Running) continue;
      if (until !== undefined && Date.parse(rec.Created) > until) continue;
      const labels = rec.Config.Labels ?? {};
      if (!f.matchKVList('label', labels) || (f.has('label!') && f.matchKVList('label!', labels))) continue;
      const size = await directorySize(this.deps.snapshotter.upperDir(rec.SnapshotKey)).catch(() => 0);
      try {
        await this.remove(rec.Id);
        deleted.push(rec.Id);
        spaceReclaimed += size;
      } catch (err) {
        // Started or removed meanwhile: not ours to prune.
        if (!isBerthError(err)) throw err;
      }
    }
    this.ctx.emitPrune(spaceReclaimed);
    return { deleted, spaceReclaimed };
  }
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
