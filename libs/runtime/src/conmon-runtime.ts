import { closeSync, constants as fsConstants, existsSync, openSync, watch, type FSWatcher } from 'node:fs';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FailedPreconditionError, InternalError, InvalidArgumentError, NotFoundError } from '@berth/errors';
import { ensureAttachRelay, startAttach, type AttachSession } from './attach.js';
import type { ExecSession } from './exec-session.js';
import { containerPids, readStats, topProcesses, type ContainerStats, type TopResult } from './cgroup-stats.js';
import { isConmon, runConmon } from './conmon-process.js';
import { signalInit } from './init-signal.js';
import { deleteStopped } from './stopped-delete.js';
import { startCreated } from './start-created.js';
import type { OciLinuxResources } from './oci-spec.js';
import type { RuntimeDriver } from './runtime-driver.js';
import { checkId, cleanRuntimeError, runtimeError } from './runtime-errors.js';
import { execCollect, execDetached, execInteractive, spawnExec, type ExecContext } from './runtime-exec.js';
import { probeRuntime } from './runtime-probe.js';
import type {
  CreateOptions,
  ExecInteractiveOptions,
  ExecOptions,
  ExecProcess,
  ExecResult,
  RuntimeCheck,
  RuntimeState,
} from './runtime-types.js';
import { runCommand, signalNumber, type CommandResult } from '@berth/subprocess';

/*
 * On-disk layout (all directories given by the caller):
 *
 *   <root>/<id>/state.json         the OCI runtime's own state (runc --root)
 *   <exitDir>/<id>                 written by conmon when the container's process exits: its exit code
 *                                  (128+N when killed by signal N)
 *   <persistDir>/<id>/exit         conmon's copy of the exit code
 *   <persistDir>/<id>/oom          created by conmon when the cgroup hit its memory limit (OOM kill)
 *   <persistDir>/<id>/conmon.pid   pid of the daemonized conmon
 *   <persistDir>/<id>/conmon.log   conmon's own stderr (errors of the monitor itself)
 *   <persistDir>/<id>/exec-*.json  process specs of running `exec`s (removed when they end)
 *   <persistDir>/<id>/exec-<execId>/  an execInteractive session (conmon's bundle: process.json, pid,
 *                                  conmon.pid, attach socket, ctl/winsz fifos, exit file); removed by
 *                                  conmon's exit command when the process ends, and by the driver
 *   <socketDir>/<execId>           conmon's link to that directory (removed with it)
 *   <socketDir>/<id>/attach        conmon's attach socket (SOCK_SEQPACKET); ctl and winsz fifos are in
 *   <bundle>/ctl, <bundle>/winsz   the bundle, next to config.json and the container pidfile
 */

export interface ConmonRuntimeOptions {
  /** OCI runtime to drive; default `runc`. crun 1.8 cannot run on cgroup v1 hybrid hosts (see checkRuntime). */
  runtime?: 'runc' | 'crun';
  /** Path of the runtime binary; default /usr/sbin/runc or /usr/bin/crun. */
  runtimePath?: string;
  /** Path of conmon; default /usr/bin/conmon. */
  conmonPath?: string;
  /** The runtime's state directory (`--root`), e.g. /run/berth/runc. */
  root: string;
  /** Where conmon writes `<id>` exit files, e.g. /run/berth/exits. */
  exitDir: string;
  /** Parent of the per-container persist dirs, e.g. /var/lib/berth/conmon. */
  persistDir: string;
  /** Parent of the attach sockets, e.g. /run/berth/sockets. */
  socketDir: string;
  /** Where the attach relay is compiled to on first use; default `<persistDir>/.bin`. */
  binDir?: string;
}

const defaultPaths = { runc: '/usr/sbin/runc', crun: '/usr/bin/crun' } as const;

/** How long a relay started before the container's create waits for conmon's attach socket (a create's timeout is the caller's). */
const attachWaitMs = 60_000;

/**
 * Drives containers through conmon + an OCI runtime, the way podman does. Each container gets its own
 * daemonized conmon that creates it (runtime `create`), holds its stdio, writes its output to a k8s-file
 * log and its exit code to `<exitDir>/<id>`, so containers outlive the process that created them: a new
 * ConmonRuntime over the same directories sees them all (state, exitCode, oomKilled, waitExit).
 *
 * Errors: NotFoundError `No such container: <id>` when the runtime does not know the id;
 * FailedPreconditionError for operations in the wrong state (runtime's text in the message);
 * InvalidArgumentError / InternalError `OCI runtime create failed: ...` from create (see `create`).
 */
export class ConmonRuntime implements RuntimeDriver {
  readonly runtime: 'runc' | 'crun';
  readonly runtimePath: string;
  readonly conmonPath: string;
  private readonly options: ConmonRuntimeOptions;

  constructor(options: ConmonRuntimeOptions) {
    this.options = options;
    this.runtime = options.runtime ?? 'runc';
    this.runtimePath = options.runtimePath ?? defaultPaths[this.runtime];
    this.conmonPath = options.conmonPath ?? '/usr/bin/conmon';
  }

  /** Global runtime flags: state root, and (runc) logs to /dev/null so stderr carries only the plain error. */
  private globalArgs(): string[] {
    return this.runtime === 'runc' ? [`--root=${this.options.root}`, '--log=/dev/null'] : [`--root=${this.options.root}`];
  }

  private persistDirOf(id: string): string {
    return join(this.options.persistDir, id);
  }

  /**
   * Runs a throwaway container (the host's /usr read-only, `/usr/bin/true`) with the configured runtime. On
   * this project's hosts crun 1.8 fails with `cgroups in hybrid mode not supported`, for which the
   * result is `{ ok: false, warning: 'crun cannot run on this host: cgroups in hybrid mode not
   * supported; falling back to runc' }`; the caller then builds a runc ConmonRuntime.
   */
  async checkRuntime(): Promise<RuntimeCheck> {
    return probeRuntime(this.runtime, this.runtimePath);
  }

  /**
   * Creates the container (runtime `create` run by a new daemonized conmon) and resolves once the
   * runtime reported its pid; the process waits for `start`. Leftovers of an earlier container with the
   * same id (exit file, persist dir) are removed first.
   *
   * On failure the runtime's error text is kept: `OCI runtime create failed: exec: "nosuch": executable
   * file not found in $PATH` (InvalidArgumentError, code `COMMAND_NOT_FOUND`, Docker's exit code 127), a
   * permission denied on the command (InvalidArgumentError, code `COMMAND_NOT_EXECUTABLE`, 126), anything
   * else InternalError code `RUNTIME_CREATE_FAILED`; `detail.runtimeError` has the runtime's raw text.
   */
  async create(id: string, options: CreateOptions): Promise<{ pid: number; conmonPid: number }> {
    checkId(id);
    const persist = this.persistDirOf(id);
    await rm(join(this.options.exitDir, id), { force: true });
    await rm(persist, { recursive: true, force: true });
    await rm(join(options.bundle, 'pidfile'), { force: true });
    // Closed to other users: persist dirs hold exec process specs (with their environment).
    for (const dir of [this.options.root, this.options.exitDir, persist, this.options.socketDir]) await mkdir(dir, { recursive: true, mode: 0o700 });

    const args = [
      '--api-version', '1',
      '-c', id,
      '-u', id,
      '-n', options.name ?? id,
      '-r', this.runtimePath,
      '-b', options.bundle,
      '-p', join(options.bundle, 'pidfile'),
      '--exit-dir', this.options.exitDir,
      '--persist-dir', persist,
      '--socket-dir-path', this.options.socketDir,
      '-l', options.logDriver === 'none' ? 'none:' : `k8s-file:${options.logPath}`,
      '--log-level', 'warning',
      '--conmon-pidfile', join(persist, 'conmon.pid'),
      ...this.globalArgs().flatMap((a) => ['--runtime-arg', a]),
    ];
    if (options.logSizeMax && options.logDriver !== 'none') args.push('--log-size-max', String(options.logSizeMax));
    if (options.terminal) args.push('-t');
    if (options.stdin) args.push('-i');
    if (options.timeoutSeconds) args.push('-T', String(options.timeoutSeconds));

    const errFd = openSync(join(persist, 'conmon.log'), 'a');
    let reply: { data: number; message?: string } | undefined;
    try {
      reply = await runConmon(this.conmonPath, args, { errFd, cwd: options.bundle, started: options.monitorStarted });
    } finally {
      closeSync(errFd);
    }
    if (!reply || reply.data < 0) {
      const conmonLog = (await readFile(join(persist, 'conmon.log'), 'utf8').catch(() => '')).trim();
      throw runtimeError('create', id, reply?.message || conmonLog || 'conmon exited without reporting the container pid');
    }
    const conmonPid = Number((await readFile(join(persist, 'conmon.pid'), 'utf8')).trim());
    return { pid: reply.data, conmonPid };
  }

  /** Starts a created container: in-process when runc would only release its init (start-created.ts), else `runc start`. */
  async start(id: string): Promise<void> {
    checkId(id);
    if (this.runtime === 'runc' && (await startCreated(this.options.root, id)) === 'started') return;
    await this.run(id, ['start', id]);
  }

  /** Sends a signal (`SIGTERM`, `TERM`, `15`) to the container's init, or with `all` to every process. */
  async kill(id: string, signal: string | number = 'SIGTERM', options: { all?: boolean } = {}): Promise<void> {
    const sig = String(signal);
    if (!/^\d+$/.test(sig) && signalNumber(sig.toUpperCase()) === undefined) {
      throw new InvalidArgumentError(`Invalid signal: "${sig}"`);
    }
    if (!options.all) {
      // runc's own check and kill(2), without a runc process (init-signal.ts); runc when in doubt.
      checkId(id);
      const number = /^\d+$/.test(sig) ? Number(sig) : signalNumber(sig.toUpperCase())!;
      const sent = await signalInit(this.options.root, id, number);
      if (sent === 'sent') return;
      if (sent === 'missing') throw new NotFoundError(`No such container: ${id}`);
      if (sent === 'not-running') throw new FailedPreconditionError(`Cannot kill container ${id}: container not running`);
    }
    await this.run(id, ['kill', ...(options.all ? ['--all'] : []), id, sig.toUpperCase()]);
  }

  /** `runc update -r -`: the cgroup limits of a running container, changed in place. */
  async update(id: string, resources: OciLinuxResources): Promise<void> {
    await this.run(id, ['update', '--resources', '-', id], { input: JSON.stringify(resources) });
  }

  /** Freezes every process of the container (cgroup freezer). */
  async pause(id: string): Promise<void> {
    await this.run(id, ['pause', id]);
  }

  async resume(id: string): Promise<void> {
    await this.run(id, ['resume', id]);
  }

  /**
   * Removes the container from the runtime (with `force`, killing it first), waits for its conmon to
   * exit, then removes its exit file and persist dir. Idempotent: an unknown id is not an error.
   * Without `force`, a running container is a FailedPreconditionError.
   */
  async delete(id: string, options: { force?: boolean } = {}): Promise<void> {
    checkId(id);
    const conmonPid = await this.conmonPid(id);
    // Without its state directory the runtime knows no such container and would only say so: every
    // start of a new container and every removal after an exit (already deleted then) skip spawning
    // it (10–140 ms each on a loaded 2-core machine: bench/README.md, "The run path").
    // A container whose init has exited is deleted without runc when that is all runc would do (stopped-delete.ts).
    if (existsSync(join(this.options.root, id)) && !(await deleteStopped(this.options.root, id))) {
      try {
        await this.run(id, ['delete', ...(options.force ? ['--force'] : []), id]);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
    }
    if (conmonPid !== undefined) await untilGone(conmonPid);
    await rm(join(this.options.exitDir, id), { force: true });
    await rm(this.persistDirOf(id), { recursive: true, force: true });
    await rm(join(this.options.socketDir, id), { recursive: true, force: true });
  }

  /** Resolves once the container's conmon has exited (at most 5 s; at once when it has none). */
  async monitorGone(id: string): Promise<void> {
    const pid = await this.conmonPid(id);
    if (pid !== undefined) await untilGone(pid);
  }

  /** The runtime's view of the container; NotFoundError `No such container: <id>`. */
  async state(id: string): Promise<RuntimeState> {
    const res = await this.run(id, ['state', id]);
    return JSON.parse(res.stdout.toString()) as RuntimeState;
  }

  /** Every container the runtime knows under `root`. */
  async list(): Promise<RuntimeState[]> {
    const res = await runCommand(this.runtimePath, [...this.globalArgs(), 'list', '--format', 'json'], { timeoutMs: 30_000 });
    if (res.code !== 0) throw new InternalError(`Cannot list containers: ${cleanRuntimeError(res.stderr.toString())}`);
    return (JSON.parse(res.stdout.toString() || 'null') as RuntimeState[] | null) ?? [];
  }

  /** The exit code conmon recorded, or undefined while the container has not exited. */
  async exitCode(id: string): Promise<number | undefined> {
    try {
      const text = (await readFile(join(this.options.exitDir, id), 'utf8')).trim();
      return text === '' ? undefined : Number(text);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Whether conmon saw the container's cgroup hit its memory limit. */
  async oomKilled(id: string): Promise<boolean> {
    return existsSync(join(this.persistDirOf(id), 'oom'));
  }

  /**
   * Resolves with the exit code once conmon wrote it: fs.watch on the exit dir wakes it, and it looks
   * every 5 s as well (every 500 ms when the dir cannot be watched; a poll per running container
   * twice a second was most of an idle agent's file reads). Rejects with the signal's reason when
   * aborted, and with FailedPreconditionError when the container's conmon is gone without an exit
   * file (looked for every 5 s, or every 2 s unwatched).
   */
  async waitExit(id: string, signal?: AbortSignal): Promise<number> {
    let watcher: FSWatcher | undefined;
    let wake: (() => void) | undefined;
    // Set by an event, cleared before each look: an event that came while the exit file was being
    // read (no wake to call yet) has the file looked at again at once, not after the next poll.
    let poked = false;
    const poke = () => {
      poked = true;
      wake?.();
    };
    try {
      watcher = watch(this.options.exitDir, (_event, file) => {
        if (file === null || file === id || file.startsWith(`${id}.`)) poke();
      });
      watcher.on('error', () => {
        // the exit dir gone or inotify out of watches: polled every 500 ms instead
        watcher?.close();
        watcher = undefined;
      });
    } catch {
      // No exit dir yet: polling covers it.
    }
    const onAbort = () => poke();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      let polls = 0;
      for (;;) {
        signal?.throwIfAborted();
        poked = false;
        const code = await this.exitCode(id);
        if (code !== undefined) return code;
        polls++;
        // Not at once: conmon may not have written its pid file yet.
        if ((watcher ? polls > 1 : polls % 4 === 0) && !(await this.conmonAlive(id))) {
          const late = await this.exitCode(id);
          if (late !== undefined) return late;
          throw new FailedPreconditionError(`Cannot wait for container "${id}": its monitor (conmon) is not running and no exit code was recorded`);
        }
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          if (poked) return resolve();
          wake = resolve;
          timer = setTimeout(resolve, watcher ? 5_000 : 500);
        });
        clearTimeout(timer);
        wake = undefined;
      }
    } finally {
      watcher?.close();
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Whether the container's conmon process is still running (zombies and reused pids count as gone). */
  async conmonAlive(id: string): Promise<boolean> {
    const pid = await this.conmonPid(id);
    return pid !== undefined && isConmon(pid);
  }

  private async conmonPid(id: string): Promise<number | undefined> {
    try {
      const pid = Number((await readFile(join(this.persistDirOf(id), 'conmon.pid'), 'utf8')).trim());
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Runs a process in the running container (runtime `exec`) and collects its output. The process
   * inherits the container's capabilities, rlimits, no-new-privileges and environment (`options.env`
   * entries override). A command that cannot be started throws like `create` does
   * (`OCI runtime exec failed: ...`, codes COMMAND_NOT_FOUND / COMMAND_NOT_EXECUTABLE).
   */
  async exec(id: string, options: ExecOptions): Promise<ExecResult> {
    return execCollect(this.execContext(), id, options);
  }

  /**
   * Like exec, but returns at once with the process's stdio as streams (no tty). Output reaches the
   * caller directly (not through conmon), so the process ends if the calling process dies.
   */
  async spawnExec(id: string, options: Omit<ExecOptions, 'stdin'>): Promise<ExecProcess> {
    return spawnExec(this.execContext(), id, options);
  }

  /**
   * Runs a process in the running container with interactive stdio (`docker exec -i`, `-t`, `-it`),
   * through a conmon of its own, attached before the process starts (no output is lost). Resolves once
   * the process runs; see ExecSession for the streams, `done` (exit code), `resize` and `close`.
   *
   * Errors: like `exec` (NotFoundError, FailedPreconditionError when not running, `OCI runtime exec
   * failed: ...` with codes COMMAND_NOT_FOUND / COMMAND_NOT_EXECUTABLE, for Docker's 127 / 126);
   * AlreadyExistsError `Exec id "<execId>" is already in use` (a running session's or a container's id);
   * FailedPreconditionError when gcc is missing for the relay.
   * The session's files are removed when the process ends, even if this process is gone by then; while
   * it runs they are under `<persistDir>/<id>/exec-<execId>` (removed with the container).
   */
  async execInteractive(id: string, options: ExecInteractiveOptions): Promise<ExecSession> {
    return execInteractive(this.execContext(), id, options);
  }

  /**
   * Starts a process in the container and returns its host pid without waiting. Its stdio is /dev/null
   * (as `docker exec -d`); the runtime's own errors are read from its JSON log.
   */
  async execDetached(id: string, options: Omit<ExecOptions, 'stdin' | 'signal'>): Promise<{ pid: number }> {
    return execDetached(this.execContext(), id, options);
  }

  private execContext(): ExecContext {
    return {
      runtimePath: this.runtimePath,
      conmonPath: this.conmonPath,
      globalArgs: this.globalArgs(),
      root: this.options.root,
      socketDir: this.options.socketDir,
      relayDir: this.relayDir(),
      persistDirOf: (id) => this.persistDirOf(id),
      state: (id) => this.state(id),
    };
  }

  private relayDir(): string {
    return this.options.binDir ?? join(this.options.persistDir, '.bin');
  }

  /**
   * Attaches to the container's stdio through conmon's attach socket (works for containers created
   * with `terminal` and/or `stdin`, and for plain ones to read their live output). Attach before
   * `start` to see the first output. FailedPreconditionError when the socket is gone (exited and
   * deleted) or gcc is missing to build the relay. With `beforeCreate`, the relay is started before
   * (or while) `create` runs and connects once conmon listens (within `attachWaitMs`): its fork
   * and exec, 20–40 ms on a loaded host, then overlap conmon's and runc's start instead of
   * following them (bench/README.md, "the attach relay beside runc create"). `signal` ends the
   * session (one not connected yet rejects).
   */
  async attach(id: string, options: { beforeCreate?: boolean; signal?: AbortSignal } = {}): Promise<AttachSession> {
    checkId(id);
    const socket = join(this.options.socketDir, id, 'attach');
    if (!options.beforeCreate && !existsSync(socket)) {
      throw new FailedPreconditionError(`Cannot attach to container ${id}: it has no attach socket (not created, or deleted)`);
    }
    const relay = await ensureAttachRelay(this.relayDir());
    return await startAttach(relay, socket, { signal: options.signal, ...(options.beforeCreate ? { waitMs: attachWaitMs } : {}) });
  }

  /** Resizes the container's terminal (conmon's ctl fifo in the bundle). */
  async resize(id: string, size: { height: number; width: number }): Promise<void> {
    const ctl = join(this.options.socketDir, id, 'ctl');
    let fh;
    try {
      fh = await open(ctl, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
    } catch (err) {
      throw new FailedPreconditionError(`Cannot resize the terminal of container ${id}: its monitor is not running`, { cause: err });
    }
    try {
      await fh.write(`1 ${Math.floor(size.height)} ${Math.floor(size.width)}\n`);
    } finally {
      await fh.close();
    }
  }

  /** CPU, memory and pids figures from the container's cgroup (v1). */
  async stats(id: string): Promise<ContainerStats> {
    return readStats(id);
  }

  /** Processes of the container as `ps` shows them (Docker's `top`); psArgs default `-ef`. */
  async top(id: string, psArgs?: string[]): Promise<TopResult> {
    return topProcesses(id, psArgs);
  }

  /** Host pids of every process in the container. */
  async pids(id: string): Promise<number[]> {
    return containerPids(id);
  }

  /** Runs a runtime subcommand; maps "does not exist" to NotFoundError and state errors to FailedPreconditionError. */
  private async run(id: string, args: string[], options: { input?: string } = {}): Promise<CommandResult> {
    checkId(id);
    const res = await runCommand(this.runtimePath, [...this.globalArgs(), ...args], { timeoutMs: 60_000, input: options.input });
    if (res.code === 0) return res;
    const text = cleanRuntimeError(res.stderr.toString() || res.stdout.toString());
    if (/does not exist|not found/i.test(text)) throw new NotFoundError(`No such container: ${id}`);
    if (/not running|not paused|is paused|stopped|running|cannot|not allowed/i.test(text)) {
      throw new FailedPreconditionError(`Cannot ${args[0]} container ${id}: ${text}`);
    }
    throw new InternalError(`Cannot ${args[0]} container ${id}: ${text}`);
  }
}

/** After an exit conmon is gone within a few ms: polled finely (every exit handling waits for this), for 5 s at most. */
async function untilGone(conmonPid: number): Promise<void> {
  for (const deadline = Date.now() + 5_000; isConmon(conmonPid) && Date.now() < deadline; ) await sleep(5);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
