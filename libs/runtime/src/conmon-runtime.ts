import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, constants as fsConstants, existsSync, openSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { lstat, mkdir, mkdtemp, open, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  type BerthError,
} from '@berth/errors';
import { ensureAttachRelay, startAttach, type AttachSession } from './attach.js';
import { startExecSession, type ExecSession } from './exec-session.js';
import { containerPids, readStats, topProcesses, type ContainerStats, type TopResult } from './cgroup-stats.js';
import type { OciProcess, OciSpec } from './oci-spec.js';
import { runCommand, signalNumber, type CommandResult } from './run-command.js';

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

export interface CreateOptions {
  /** Bundle directory holding config.json (see generateSpec). */
  bundle: string;
  /** k8s-file log written by conmon (read it with readLogs). */
  logPath: string;
  /** Allocate a pseudo-terminal (conmon holds its master; output goes to the log). Must match process.terminal. */
  terminal?: boolean;
  /** Keep a stdin pipe open for attach clients. */
  stdin?: boolean;
  /** Container name for conmon's logs; default the id. */
  name?: string;
  /** Kill the container after this many seconds (conmon -T). */
  timeoutSeconds?: number;
}

/** `runc state` output. */
export interface RuntimeState {
  ociVersion: string;
  id: string;
  /** Host pid of the container's init; 0 once stopped. */
  pid: number;
  status: 'creating' | 'created' | 'running' | 'paused' | 'stopped';
  bundle: string;
  rootfs: string;
  created: string;
  annotations?: Record<string, string>;
}

export interface ExecOptions {
  args: string[];
  /** `KEY=value` entries added to (and overriding) the container's environment. */
  env?: string[];
  /** Default: the container's cwd. */
  cwd?: string;
  /** Default: the container's user. Resolve names with resolveUser. */
  user?: { uid: number; gid: number; additionalGids?: number[] };
  /** Data written to the process's stdin, then closed. */
  stdin?: Buffer | string;
  /** Kill the exec'd process (SIGKILL) when aborted. */
  signal?: AbortSignal;
}

export interface ExecResult {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
}

/** Options of `execInteractive` (`docker exec -i/-t`). */
export interface ExecInteractiveOptions extends Omit<ExecOptions, 'stdin' | 'signal'> {
  /** Allocate a pseudo-terminal (stdin, stdout and stderr are its slave; TERM=xterm unless set). */
  tty?: boolean;
  /** Forward the session's `stdin` to the process (otherwise the process's stdin is /dev/null or the idle tty). */
  stdin?: boolean;
  /** Initial terminal size (with `tty`). */
  consoleSize?: { height: number; width: number };
  /** The session id (e.g. Docker's 64-hex exec id); default 32 random hex digits. */
  execId?: string;
  /** Kills the process (SIGKILL) when aborted, like `close()`. */
  signal?: AbortSignal;
}

/** A running non-tty exec whose stdio the caller streams. */
export interface ExecProcess {
  stdin: NodeJS.WritableStream;
  stdout: Readable;
  stderr: Readable;
  /** Resolves with the exit code (128+N for signal N); rejects when the process could not be started. */
  exited: Promise<number>;
}

export type RuntimeCheck = { ok: true; runtime: 'runc' | 'crun' } | { ok: false; runtime: 'runc' | 'crun'; warning: string };

const defaultPaths = { runc: '/usr/sbin/runc', crun: '/usr/bin/crun' } as const;

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
export class ConmonRuntime {
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
    const runtime = this.runtime;
    if (!existsSync(this.runtimePath)) {
      return { ok: false, runtime, warning: `${runtime} cannot run on this host: "${this.runtimePath}" not found` };
    }
    const dir = await mkdtemp(join(tmpdir(), 'berth-probe-'));
    const id = `berth-probe-${randomBytes(4).toString('hex')}`;
    try {
      // The host's /usr, read-only, as the whole root filesystem (merged-/usr hosts such as Debian 12).
      const rootfs = join(dir, 'rootfs');
      await mkdir(join(rootfs, 'usr'), { recursive: true });
      for (const link of ['bin', 'lib', 'lib64']) await symlink(`usr/${link}`, join(rootfs, link));
      const spec = {
        ociVersion: '1.0.2-dev',
        process: { user: { uid: 0, gid: 0 }, args: ['/usr/bin/true'], env: ['PATH=/usr/bin'], cwd: '/', noNewPrivileges: true },
        root: { path: rootfs, readonly: true },
        mounts: [
          { destination: '/proc', type: 'proc', source: 'proc' },
          { destination: '/usr', type: 'bind', source: '/usr', options: ['rbind', 'ro'] },
        ],
        linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }], cgroupsPath: `/berth/${id}` },
      };
      await writeFile(join(dir, 'config.json'), JSON.stringify(spec));
      const res = await runCommand(this.runtimePath, [`--root=${join(dir, 'state')}`, 'run', '--bundle', dir, id], { timeoutMs: 30_000 });
      if (res.code === 0) return { ok: true, runtime };
      const text = `${res.stderr}${res.stdout}`.trim();
      if (runtime === 'crun' && /hybrid mode not supported/.test(text)) {
        return { ok: false, runtime, warning: 'crun cannot run on this host: cgroups in hybrid mode not supported; falling back to runc' };
      }
      return { ok: false, runtime, warning: `${runtime} cannot run on this host: ${cleanRuntimeError(text)}` };
    } finally {
      await runCommand(this.runtimePath, [`--root=${join(dir, 'state')}`, 'delete', '--force', id], { timeoutMs: 30_000 }).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
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
    for (const dir of [this.options.root, this.options.exitDir, persist, this.options.socketDir]) await mkdir(dir, { recursive: true });

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
      '-l', `k8s-file:${options.logPath}`,
      '--log-level', 'warning',
      '--conmon-pidfile', join(persist, 'conmon.pid'),
      ...this.globalArgs().flatMap((a) => ['--runtime-arg', a]),
    ];
    if (options.terminal) args.push('-t');
    if (options.stdin) args.push('-i');
    if (options.timeoutSeconds) args.push('-T', String(options.timeoutSeconds));

    const errFd = openSync(join(persist, 'conmon.log'), 'a');
    let reply: { data: number; message?: string } | undefined;
    try {
      reply = await runConmon(this.conmonPath, args, { errFd, cwd: options.bundle });
    } finally {
      closeSync(errFd);
    }
    if (!reply || reply.data < 0) {
      const conmonLog = (await readFile(join(persist, 'conmon.log'), 'utf8').catch(() => '')).trim();
      throw createError(id, reply?.message || conmonLog || 'conmon exited without reporting the container pid');
    }
    const conmonPid = Number((await readFile(join(persist, 'conmon.pid'), 'utf8')).trim());
    return { pid: reply.data, conmonPid };
  }

  /** Starts a created container. */
  async start(id: string): Promise<void> {
    await this.run(id, ['start', id]);
  }

  /** Sends a signal (`SIGTERM`, `TERM`, `15`) to the container's init, or with `all` to every process. */
  async kill(id: string, signal: string | number = 'SIGTERM', options: { all?: boolean } = {}): Promise<void> {
    const sig = String(signal);
    if (!/^\d+$/.test(sig) && signalNumber(sig.toUpperCase()) === undefined) {
      throw new InvalidArgumentError(`Invalid signal: "${sig}"`);
    }
    await this.run(id, ['kill', ...(options.all ? ['--all'] : []), id, sig.toUpperCase()]);
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
    try {
      await this.run(id, ['delete', ...(options.force ? ['--force'] : []), id]);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
    if (conmonPid !== undefined) {
      for (let i = 0; i < 100 && isConmon(conmonPid); i++) await sleep(50);
    }
    await rm(join(this.options.exitDir, id), { force: true });
    await rm(this.persistDirOf(id), { recursive: true, force: true });
    await rm(join(this.options.socketDir, id), { recursive: true, force: true });
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
   * Resolves with the exit code once conmon wrote it (fs.watch on the exit dir, polled every 500 ms as
   * well). Rejects with the signal's reason when aborted, and with FailedPreconditionError when the
   * container's conmon is gone without an exit file.
   */
  async waitExit(id: string, signal?: AbortSignal): Promise<number> {
    let watcher: FSWatcher | undefined;
    let wake: (() => void) | undefined;
    try {
      watcher = watch(this.options.exitDir, (_event, file) => {
        if (file === null || file === id || file.startsWith(`${id}.`)) wake?.();
      });
      watcher.on('error', () => {});
    } catch {
      // No exit dir yet: polling covers it.
    }
    const onAbort = () => wake?.();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      let polls = 0;
      for (;;) {
        signal?.throwIfAborted();
        const code = await this.exitCode(id);
        if (code !== undefined) return code;
        if (++polls % 4 === 0 && !(await this.conmonAlive(id))) {
          const late = await this.exitCode(id);
          if (late !== undefined) return late;
          throw new FailedPreconditionError(`Cannot wait for container "${id}": its monitor (conmon) is not running and no exit code was recorded`);
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 500);
        });
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
    const proc = await this.spawnExec(id, options);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    proc.stdout.on('data', (d: Buffer) => out.push(d));
    proc.stderr.on('data', (d: Buffer) => err.push(d));
    proc.stdin.end(options.stdin ?? '');
    const exitCode = await proc.exited;
    return { exitCode, stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
  }

  /**
   * Like exec, but returns at once with the process's stdio as streams (no tty). Output reaches the
   * caller directly (not through conmon), so the process ends if the calling process dies.
   */
  async spawnExec(id: string, options: Omit<ExecOptions, 'stdin'>): Promise<ExecProcess> {
    const { processFile, pidFile } = await this.writeExecProcess(id, options);
    const child = spawn(this.runtimePath, [...this.globalArgs(), 'exec', '--process', processFile, '--pid-file', pidFile, id], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin.on('error', () => {});
    const onAbort = () => {
      void readFile(pidFile, 'utf8')
        .then((pid) => process.kill(Number(pid), 'SIGKILL'))
        .catch(() => undefined);
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    // The runtime writes its own errors to the same stderr as the process: keep a copy to report them.
    const errCopy: Buffer[] = [];
    child.stderr.on('data', (d: Buffer) => errCopy.push(d));
    const exited = new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', async (code, sig) => {
        options.signal?.removeEventListener('abort', onAbort);
        const started = existsSync(pidFile);
        await rm(processFile, { force: true });
        await rm(pidFile, { force: true });
        const exitCode = code ?? 128 + (sig ? (signalNumber(sig) ?? 0) : 0);
        if (!started && exitCode !== 0) {
          const text = Buffer.concat(errCopy).toString();
          if (/does not exist/.test(text)) reject(new NotFoundError(`No such container: ${id}`));
          else if (/not running|stopped|paused/.test(text) && !/exec:/.test(text)) {
            reject(new FailedPreconditionError(`Container ${id} is not running: ${cleanRuntimeError(text)}`));
          } else reject(runtimeError('exec', id, text));
          return;
        }
        resolve(exitCode);
      });
    });
    exited.catch(() => undefined);
    return { stdin: child.stdin, stdout: child.stdout, stderr: child.stderr, exited };
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
    checkId(id);
    const execId = options.execId ?? randomBytes(16).toString('hex');
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(execId)) {
      throw new InvalidArgumentError(`Invalid exec id "${execId}": expected letters, digits, '_', '.' and '-'`);
    }
    const tty = options.tty === true;
    const proc = await this.execProcessSpec(id, options, tty ? { consoleSize: options.consoleSize } : undefined);
    if (tty && !proc.env.some((e) => e.startsWith('TERM='))) proc.env.push('TERM=xterm');
    const relayPath = await ensureAttachRelay(this.options.binDir ?? join(this.options.persistDir, '.bin'));
    const execDir = join(this.persistDirOf(id), `exec-${execId}`);
    await mkdir(this.persistDirOf(id), { recursive: true });
    await mkdir(this.options.socketDir, { recursive: true });
    // conmon links <socketDir>/<execId> to the session: the name must not be a container's or another session's.
    const taken = () => new AlreadyExistsError(`Exec id "${execId}" is already in use`);
    if (await lstat(join(this.options.socketDir, execId)).then(() => true, () => false)) throw taken();
    try {
      await mkdir(execDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw taken();
      throw err;
    }
    return startExecSession({
      conmonPath: this.conmonPath,
      runtimePath: this.runtimePath,
      runtimeArgs: this.globalArgs(),
      containerId: id,
      execId,
      execDir,
      socketDir: this.options.socketDir,
      process: proc,
      relayPath,
      stdin: options.stdin === true,
      signal: options.signal,
      startError: (text) => {
        if (/does not exist/.test(text)) return new NotFoundError(`No such container: ${id}`);
        if (/not running|stopped|paused/.test(text) && !/exec:/.test(text)) {
          return new FailedPreconditionError(`Container ${id} is not running: ${cleanRuntimeError(text)}`);
        }
        return runtimeError('exec', id, text);
      },
    });
  }

  /**
   * Starts a process in the container and returns its host pid without waiting. Its stdio is /dev/null
   * (as `docker exec -d`); the runtime's own errors are read from its JSON log.
   */
  async execDetached(id: string, options: Omit<ExecOptions, 'stdin' | 'signal'>): Promise<{ pid: number }> {
    const { processFile, pidFile } = await this.writeExecProcess(id, options);
    const logFile = processFile.replace(/\.json$/, '.log');
    try {
      const args = [`--root=${this.options.root}`, `--log=${logFile}`, '--log-format=json', 'exec', '--detach', '--process', processFile, '--pid-file', pidFile, id];
      const code = await new Promise<number>((resolve, reject) => {
        const child = spawn(this.runtimePath, args, { stdio: 'ignore' });
        child.on('error', reject);
        child.on('exit', (c) => resolve(c ?? 1));
      });
      if (code !== 0) {
        const log = await readFile(logFile, 'utf8').catch(() => '');
        const text = log
          .split('\n')
          .filter(Boolean)
          .map((l) => {
            try {
              const entry = JSON.parse(l) as { level?: string; msg?: string };
              return entry.level === 'error' || entry.level === 'fatal' ? (entry.msg ?? '') : '';
            } catch {
              return l;
            }
          })
          .join('\n');
        if (/does not exist/.test(text)) throw new NotFoundError(`No such container: ${id}`);
        throw runtimeError('exec', id, text);
      }
      return { pid: Number((await readFile(pidFile, 'utf8')).trim()) };
    } finally {
      for (const f of [processFile, pidFile, logFile]) await rm(f, { force: true });
    }
  }

  private async writeExecProcess(id: string, options: Omit<ExecOptions, 'stdin'>): Promise<{ processFile: string; pidFile: string }> {
    const proc = await this.execProcessSpec(id, options);
    const persist = this.persistDirOf(id);
    await mkdir(persist, { recursive: true });
    const name = `exec-${randomBytes(6).toString('hex')}`;
    const processFile = join(persist, `${name}.json`);
    await writeFile(processFile, JSON.stringify(proc));
    return { processFile, pidFile: join(persist, `${name}.pid`) };
  }

  /**
   * The process spec of an exec: the container's process (capabilities, rlimits, environment...) with
   * `options` applied. FailedPreconditionError unless the container is running.
   */
  private async execProcessSpec(
    id: string,
    options: Omit<ExecOptions, 'stdin'>,
    terminal?: { consoleSize?: { height: number; width: number } },
  ): Promise<OciProcess> {
    if (options.args.length === 0) throw new InvalidArgumentError('No command specified');
    const state = await this.state(id);
    if (state.status !== 'running') {
      throw new FailedPreconditionError(`Container ${id} is not running: its state is "${state.status}"`);
    }
    const spec = JSON.parse(await readFile(join(state.bundle, 'config.json'), 'utf8')) as OciSpec;
    const env = new Map<string, string>();
    for (const e of [...spec.process.env, ...(options.env ?? [])]) env.set(e.split('=')[0]!, e);
    const proc: OciProcess = {
      ...spec.process,
      terminal: terminal !== undefined,
      args: options.args,
      env: [...env.values()],
      cwd: options.cwd || spec.process.cwd,
      user: options.user ? { uid: options.user.uid, gid: options.user.gid, additionalGids: options.user.additionalGids ?? [] } : spec.process.user,
    };
    delete proc.consoleSize;
    if (terminal?.consoleSize) proc.consoleSize = { height: Math.floor(terminal.consoleSize.height), width: Math.floor(terminal.consoleSize.width) };
    return proc;
  }

  /**
   * Attaches to the container's stdio through conmon's attach socket (works for containers created
   * with `terminal` and/or `stdin`, and for plain ones to read their live output). Attach before
   * `start` to see the first output. FailedPreconditionError when the socket is gone (exited and
   * deleted) or gcc is missing to build the relay.
   */
  async attach(id: string): Promise<AttachSession> {
    checkId(id);
    const socket = join(this.options.socketDir, id, 'attach');
    if (!existsSync(socket)) throw new FailedPreconditionError(`Cannot attach to container ${id}: it has no attach socket (not created, or deleted)`);
    const relay = await ensureAttachRelay(this.options.binDir ?? join(this.options.persistDir, '.bin'));
    return startAttach(relay, socket);
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
  private async run(id: string, args: string[]): Promise<CommandResult> {
    checkId(id);
    const res = await runCommand(this.runtimePath, [...this.globalArgs(), ...args], { timeoutMs: 60_000 });
    if (res.code === 0) return res;
    const text = cleanRuntimeError(res.stderr.toString() || res.stdout.toString());
    if (/does not exist|not found/i.test(text)) throw new NotFoundError(`No such container: ${id}`);
    if (/not running|not paused|is paused|stopped|running|cannot|not allowed/i.test(text)) {
      throw new FailedPreconditionError(`Cannot ${args[0]} container ${id}: ${text}`);
    }
    throw new InternalError(`Cannot ${args[0]} container ${id}: ${text}`);
  }
}

function checkId(id: string): void {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(id)) {
    throw new InvalidArgumentError(`Invalid container id "${id}": expected letters, digits, '_', '.' and '-'`);
  }
}

/** Strips runc's logrus prefix (`time="..." level=error msg="..."`) and surrounding space. */
export function cleanRuntimeError(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => {
      const m = /level=(?:error|fatal) msg="((?:[^"\\]|\\.)*)"/.exec(l);
      return m ? m[1]!.replace(/\\"/g, '"').replace(/\\\\/g, '\\') : l;
    })
    .map((l) => l.trim())
    .filter(Boolean);
  return [...new Set(lines)].join('\n');
}

function runtimeError(op: 'create' | 'exec', id: string, raw: string): BerthError {
  const text = cleanRuntimeError(raw) || 'unknown error';
  const message = `OCI runtime ${op} failed: ${text}`;
  const detail = { id, runtimeError: text };
  if (/executable file not found|no such file or directory/i.test(text) && /exec:|exec /.test(text)) {
    return new InvalidArgumentError(message, { code: 'COMMAND_NOT_FOUND', detail });
  }
  if (/permission denied/i.test(text) && /exec/.test(text)) {
    return new InvalidArgumentError(message, { code: 'COMMAND_NOT_EXECUTABLE', detail });
  }
  return new InternalError(message, { code: op === 'create' ? 'RUNTIME_CREATE_FAILED' : 'RUNTIME_EXEC_FAILED', detail });
}

function createError(id: string, raw: string): BerthError {
  return runtimeError('create', id, raw);
}

/**
 * Spawns conmon with a sync pipe as fd 3 (`_OCI_SYNCPIPE=3`) and resolves with its first message:
 * `{"data": <container pid>}` or `{"data": -1, "message": "<runtime stderr>"}`. Undefined when conmon
 * closed the pipe without a word (its own error then is in its stderr file).
 */
function runConmon(conmonPath: string, args: string[], options: { errFd: number; cwd: string }): Promise<{ data: number; message?: string } | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn(conmonPath, args, {
      // conmon writes files such as `oom` into its working directory: keep it in the bundle.
      cwd: options.cwd,
      stdio: ['ignore', 'ignore', options.errFd, 'pipe'],
      env: { ...process.env, _OCI_SYNCPIPE: '3' },
      detached: true,
    });
    const sync = child.stdio[3] as Readable;
    let buf = '';
    let done = false;
    const finish = (value: { data: number; message?: string } | undefined, error?: Error) => {
      if (done) return;
      done = true;
      sync.destroy();
      child.unref();
      if (error) reject(error);
      else resolve(value);
    };
    child.on('error', (e) => finish(undefined, new InternalError(`Cannot run conmon "${conmonPath}": ${e.message}`, { cause: e })));
    sync.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      try {
        finish(JSON.parse(buf.slice(0, nl)) as { data: number; message?: string });
      } catch (e) {
        finish(undefined, new InternalError(`Cannot parse conmon's reply ${JSON.stringify(buf.slice(0, nl))}`, { cause: e }));
      }
    });
    sync.on('error', () => {});
    sync.on('close', () => finish(undefined));
  });
}

/** True when `pid` is a live (non-zombie) process named conmon. */
function isConmon(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const afterComm = stat.slice(stat.lastIndexOf(')') + 2);
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    return comm === 'conmon' && !afterComm.startsWith('Z') && !afterComm.startsWith('X');
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
