import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { ConflictError, FailedPreconditionError, InvalidArgumentError } from '@berth/errors';
import {
  demuxFrames,
  type AttachSession,
  readLogs,
  resolveUser,
  type ContainerStats,
  type ExecOptions,
  type ExecSession,
  type LogEntry,
  type ReadLogsOptions,
  type RuntimeIo,
  type RuntimeStats,
  type TopResult,
} from '@berth/runtime';
import type { ContainerContext } from './container-context.js';
import { exitCodeOfStartError } from './container-runner.js';
import { emptyDockerStats, toDockerStats, type DockerStats } from './docker-stats.js';
import type { PendingAttach, Waiter } from './live-state.js';
import { logDriverOf, logFileSettings } from './log-driver.js';
import { readLogFiles } from './log-files.js';
import type { AttachHandle, AttachOptions, ExecHandle, ExecStartOptions } from './types.js';

/** `docker logs` options (see @berth/runtime readLogs); `follow` ends when the container stops. */
export type LogsOptions = Omit<ReadLogsOptions, 'pollMs'>;

/**
 * A container's input and output: logs, attach, exec, and the figures of its processes (stats,
 * top). Reads the records; the only state it adds is pending attaches (connected by the next
 * start) and the previous stats sample per container.
 */
export class ContainerIo {
  /** The last stats sample per container (Docker's precpu_stats). */
  private readonly lastStats = new Map<string, ContainerStats>();

  constructor(
    private readonly ctx: ContainerContext,
    private readonly runtime: RuntimeIo & RuntimeStats,
  ) {}

  /**
   * The container's output (`docker logs`), from conmon's log file. With `follow`, lines keep coming
   * until the container stops (for good: not between policy restarts) or `options.signal` aborts.
   */
  async *logs(idOrName: string, options: LogsOptions = {}): AsyncIterable<LogEntry> {
    const rec = this.ctx.mustGet(this.ctx.resolve(idOrName));
    if (logDriverOf(rec) === 'none') throw new FailedPreconditionError('configured logging driver does not support reading');
    // json-file / local: the driver's files; records from before drivers: conmon's monitor log.
    const files = logFileSettings(rec);
    const read = (o: LogsOptions) => (files ? readLogFiles(files, o) : readLogs(rec.LogPath, o));
    if (!options.follow) {
      yield* read(options);
      return;
    }
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) stop.abort();
    let waiter: Waiter | undefined;
    const live = this.ctx.live.of(rec);
    if (rec.State.Running) {
      waiter = { condition: 'not-running', resolve: () => stop.abort() };
      live.waiters.add(waiter);
    } else {
      stop.abort();
    }
    try {
      yield* read({ ...options, follow: true, signal: stop.signal });
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
    const id = this.ctx.resolve(idOrName);
    const input = new PassThrough();
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const deliver = (stream: 'stdout' | 'stderr', data: Buffer) =>
      stream === 'stderr' ? options.onStderr(data) : options.onStdout(data);
    if (options.logs) {
      const rec = this.ctx.mustGet(id);
      const files = logFileSettings(rec);
      const history = logDriverOf(rec) === 'none' ? [] : files ? readLogFiles(files) : readLogs(rec.LogPath);
      for await (const entry of history) {
        deliver(entry.stream, entry.partial ? entry.line : Buffer.concat([entry.line, Buffer.from('\n')]));
      }
    }
    // The last terminal size asked for: one asked before the start reaches the console as soon as
    // the runtime made it (before the process runs, so its first `stty size` is right).
    let size: { height: number; width: number } | undefined;
    // A session to a container being started is begun while the runtime creates it (prepare), so
    // that its relay's start overlaps conmon's and runc's (bench/README.md, "the attach relay
    // beside runc create").
    let early: { session: Promise<AttachSession>; abort: AbortController } | undefined;
    const dropEarly = () => {
      early?.abort.abort(); // its relay ends, connected or still waiting for conmon's socket
      early = undefined;
    };
    const connect: PendingAttach = {
      prepare: () => {
        const abort = new AbortController();
        early = { session: this.runtime.attach(id, { beforeCreate: true, signal: abort.signal }), abort };
        early.session.catch(() => undefined); // awaited by connect, or dropped
      },
      connect: async () => {
        const pending = early?.session ?? this.runtime.attach(id);
        early = undefined;
        const session = await pending;
        if (size) await this.runtime.resize(id, size).catch(() => {}); // no terminal: nothing to size
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
      cancel: () => {
        dropEarly();
        finish();
      },
    };
    await this.ctx.locks.run(id, async () => {
      const rec = this.ctx.mustGet(id);
      // Docker announces every attach, the one `run` makes before the start included.
      this.ctx.emit('attach', rec);
      if (rec.State.Running && !rec.State.Restarting) {
        await connect.connect();
        return;
      }
      const live = this.ctx.live.of(rec);
      live.pendingAttaches.add(connect);
      options.signal?.addEventListener(
        'abort',
        () => {
          if (live.pendingAttaches.delete(connect)) connect.cancel();
        },
        { once: true },
      );
    });
    return {
      write: (data) => void input.write(data),
      closeStdin: () => void input.end(),
      // A resize after the container exited, or of one without a terminal, has nothing to act on;
      // one that took effect is announced as Docker does (`resize`, height and width).
      resize: (rows, cols) =>
        void this.runtime
          .resize(id, (size = { height: rows, width: cols }))
          .then(() => this.ctx.emit('resize', this.ctx.mustGet(id), { height: String(rows), width: String(cols) }))
          .catch(() => {}), // no terminal (or the container just exited): nothing to size
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
    const rec = this.ctx.mustGet(this.ctx.resolve(idOrName));
    if (!rec.State.Running || rec.State.Restarting) throw new ConflictError(`Container ${rec.Id} is not running`);
    if (rec.State.Paused) throw new ConflictError(`Container ${rec.Id} is paused, unpause the container before exec`);
    if (options.cmd.length === 0) throw new InvalidArgumentError('No exec command specified');
    const base: Omit<ExecOptions, 'stdin' | 'signal'> = { args: options.cmd, env: options.env, cwd: options.workingDir };
    if (options.user) base.user = await resolveUser(this.ctx.layout.rootfs(rec.Id), options.user);
    const execId = randomBytes(32).toString('hex');
    const attributes = { execID: execId, execCommand: options.cmd.join(' ') };
    this.ctx.emit('exec_create', rec, attributes);
    if (options.detach) {
      await this.runtime.execDetached(rec.Id, base);
      this.ctx.emit('exec_start', rec, attributes);
      const ignore = () => {};
      return { id: execId, write: ignore, closeStdin: ignore, resize: ignore, exitCode: Promise.resolve(0) };
    }
    let session: ExecSession;
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
      this.ctx.emit('exec_die', rec, { ...attributes, exitCode: String(exitCodeOfStartError(err)) });
      throw err;
    }
    this.ctx.emit('exec_start', rec, attributes);
    const pump = (async () => {
      for await (const frame of demuxFrames(session.output)) {
        (frame.stream === 'stderr' ? options.onStderr : options.onStdout)?.(frame.data);
      }
    })();
    const exitCode = (async () => {
      // The output pump ends with the session; its errors (a client gone) do not change the exit code.
      const [code] = await Promise.all([session.done, pump.catch(() => {})]);
      this.ctx.emit('exec_die', rec, { ...attributes, exitCode: String(code) });
      return code;
    })();
    // The caller may never read exitCode: keep its rejection from being unhandled.
    exitCode.catch(() => {});
    // Writes after the process ended fail; there is nobody left to tell.
    session.stdin.on('error', () => {});
    return {
      id: execId,
      write: (data) => void session.stdin.write(data),
      closeStdin: () => void session.stdin.end(),
      // As for attach: a resize of an ended session has nothing to act on.
      resize: (rows, cols) => void session.resize({ height: rows, width: cols }).catch(() => {}),
      exitCode,
    };
  }

  /** The container's processes as `ps` shows them (`docker top`); ConflictError when not running. */
  async top(idOrName: string, psArgs?: string[]): Promise<TopResult> {
    const rec = this.ctx.mustGet(this.ctx.resolve(idOrName));
    if (!rec.State.Running || rec.State.Restarting) throw new ConflictError(`Container ${rec.Id} is not running`);
    const top = await this.runtime.top(rec.Id, psArgs);
    this.ctx.emit('top', rec);
    return top;
  }

  /**
   * One Docker-shaped stats sample. `precpu_stats` is the sample of the previous call for this
   * container (zeros on the first call), so a caller polling every second gets `docker stats`
   * figures. A container that is not running gets zeroed stats, like Docker.
   */
  async stats(idOrName: string): Promise<DockerStats> {
    const rec = this.ctx.mustGet(this.ctx.resolve(idOrName));
    if (!rec.State.Running || rec.State.Restarting) {
      this.lastStats.delete(rec.Id);
      return emptyDockerStats(rec.Id, rec.Name);
    }
    const sample = await this.runtime.stats(rec.Id);
    const previous = this.lastStats.get(rec.Id);
    this.lastStats.set(rec.Id, sample);
    return toDockerStats(rec.Id, rec.Name, sample, previous);
  }
}
