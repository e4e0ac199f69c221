import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants as fsConstants, existsSync, openSync, readFileSync } from 'node:fs';
import { open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { FailedPreconditionError, InternalError } from '@berth/errors';
import { conmonEnv } from './conmon-process.js';
import type { OciProcess } from './oci-spec.js';

/**
 * An interactive exec session (`docker exec -i`, `-t`, `-it`): a process started in a running container
 * by its own conmon (`conmon --exec --exec-attach`), whose stdio the caller streams through conmon's
 * attach socket, the same way `AttachSession` does for the container's main process.
 */
export interface ExecSession {
  /** The session's id (conmon `-u`): the caller's `execId`, or a generated one. */
  execId: string;
  /** Host pid of the exec'd process. */
  pid: number;
  /**
   * Bytes for the process's stdin (with `stdin: true`). Ending it closes the process's stdin when there
   * is no terminal; with a terminal it does not end the process (send `\x04` (^D), `exit`, or `close()`).
   * Without `stdin: true` writes are discarded.
   */
  stdin: Writable;
  /**
   * The process's output in Docker's multiplexed stream format, as `AttachSession.output`: frames of
   * `[1 stdout | 2 stderr, 0, 0, 0, length (uint32 BE)]` + data. With a terminal everything is stream 1
   * (strip the headers with demuxFrames for Docker's raw tty stream). Ends once all output was read.
   * Read it (or `resume()` it): unread output eventually stalls the process and `done`.
   */
  output: Readable;
  /**
   * Resolves with the process's exit code (128+N when killed by signal N; 137 after `close`) once it
   * exited, all its output was passed to `output` and the session's files were removed. Rejects with
   * FailedPreconditionError when the monitor died without reporting an exit code.
   */
  done: Promise<number>;
  /** Resizes the terminal (no-op without one); FailedPreconditionError once the session ended. */
  resize(size: { height: number; width: number }): Promise<void>;
  /** Ends the session: kills the process (SIGKILL) if it still runs; `done` then resolves (137). */
  close(): void;
}

/** What `startExecSession` needs from the driver. */
export interface ExecSessionParams {
  conmonPath: string;
  runtimePath: string;
  /** Global runtime flags (`--root=...`), passed as conmon `--runtime-arg`s. */
  runtimeArgs: string[];
  containerId: string;
  execId: string;
  /** The session's own empty directory (process spec, pid files, attach socket, fifos, exit file). */
  execDir: string;
  /** conmon `--socket-dir-path`; conmon links `<socketDir>/<execId>` to execDir. */
  socketDir: string;
  /** The process spec (`terminal` set for a tty session). */
  process: OciProcess;
  /** The compiled attach relay (ensureAttachRelay). */
  relayPath: string;
  stdin: boolean;
  /** Kills the process when aborted, like `close`. */
  signal?: AbortSignal;
  /** Maps the runtime's error text of a failed start to the error to throw. */
  startError(text: string): Error;
}

/** A message conmon writes on its sync / attach pipes: `{"data": N, "message": "..."}` + newline. */
interface ConmonMessage {
  data: number;
  message?: string;
}

/**
 * Starts `process` in the container through a new conmon and attaches to it before the process runs,
 * so no output is lost. Resolves once the process is running; rejects with `startError(<runtime text>)`
 * when the runtime could not start it (nothing is left behind then).
 *
 * Protocol (podman's): conmon gets a sync pipe (fd 3: pid, later exit code), a start pipe (fd 4) and an
 * attach pipe (fd 5). It waits for a first write on the start pipe, sets up the attach socket, says so
 * on the attach pipe, then waits again on the start pipe before running `runc exec`; we connect the
 * relay in between and then close the start pipe. conmon's exit command removes execDir and the socket
 * link even if this process is gone by then.
 */
export async function startExecSession(p: ExecSessionParams): Promise<ExecSession> {
  const { execDir } = p;
  const tty = p.process.terminal === true;
  const link = join(p.socketDir, p.execId);
  await writeFile(join(execDir, 'process.json'), JSON.stringify(p.process), { mode: 0o600 });
  const args = [
    '--api-version', '1',
    '-c', p.containerId,
    '-u', p.execId,
    '-n', p.containerId,
    '-r', p.runtimePath,
    '-b', execDir,
    '-p', join(execDir, 'pid'),
    '--exit-dir', execDir,
    '--socket-dir-path', p.socketDir,
    '-l', 'none',
    '--log-level', 'warning',
    '--conmon-pidfile', join(execDir, 'conmon.pid'),
    '--exec', '--exec-attach',
    '--exec-process-spec', join(execDir, 'process.json'),
    '--exit-command', existsSync('/usr/bin/rm') ? '/usr/bin/rm' : '/bin/rm',
    ...['-rf', '--', execDir, link].flatMap((a) => ['--exit-command-arg', a]),
    ...p.runtimeArgs.flatMap((a) => ['--runtime-arg', a]),
  ];
  if (tty) args.push('-t');
  if (p.stdin) args.push('-i');

  const errFd = openSync(join(execDir, 'conmon.log'), 'a');
  let conmon: ChildProcess;
  try {
    conmon = spawn(p.conmonPath, args, {
      stdio: ['ignore', 'ignore', errFd, 'pipe', 'pipe', 'pipe'],
      env: conmonEnv({ _OCI_SYNCPIPE: '3', _OCI_STARTPIPE: '4', _OCI_ATTACHPIPE: '5' }),
      cwd: execDir,
      detached: true,
    });
  } finally {
    closeSync(errFd);
  }
  const syncPipe = conmon.stdio[3] as Readable;
  const startPipe = conmon.stdio[4] as unknown as Writable;
  const attachPipe = (conmon.stdio as unknown as Readable[])[5]!;
  for (const s of [syncPipe, startPipe, attachPipe]) s.on('error', () => {});
  const spawnError = new Promise<Error>((resolve) => conmon.on('error', resolve));
  // conmon forks: its first process writes the daemon's pid to conmon.pid and exits at once.
  const parentExited = new Promise<void>((resolve) => conmon.on('exit', () => resolve()));
  conmon.unref();
  const sync = messages(syncPipe);
  let relay: Relay | undefined;
  // The daemon's pid, read while conmon still waits on the start pipe (its exit command removes the file).
  let conmonPid: number | undefined;

  /**
   * Stops everything started so far and removes the session's files. `graceMs`: how long conmon may
   * take to exit on its own (after a failed start it is running its exit command) before SIGKILL.
   */
  const abandon = async (graceMs: number) => {
    await Promise.race([parentExited, sleep(2000)]);
    const pid = conmonPid ?? (await readPid(join(execDir, 'conmon.pid')));
    // The conmon child waiting to run `runc exec` has PDEATHSIG SIGKILL: it dies with conmon.
    if (pid !== undefined) {
      if (!(await waitGone(pid, graceMs))) killQuietly(pid, 'SIGKILL');
      await waitGone(pid, 5000);
    }
    relay?.child.kill('SIGKILL');
    for (const s of [syncPipe, startPipe, attachPipe]) s.destroy();
    await removeSession(execDir, link);
  };

  try {
    startPipe.write('0');
    const attached = await Promise.race([messages(attachPipe)(), spawnError]);
    if (!attached || attached instanceof Error || attached.data < 0) {
      const log = (await readFile(join(execDir, 'conmon.log'), 'utf8').catch(() => '')).trim();
      const why = attached instanceof Error ? attached.message : attached?.message || log || 'conmon exited before setting up the attach socket';
      throw new InternalError(`Cannot exec in container ${p.containerId}: ${why}`);
    }
    attachPipe.destroy();
    await Promise.race([parentExited, sleep(2000)]);
    conmonPid = await readPid(join(execDir, 'conmon.pid'));
    relay = spawnRelay(p.relayPath, join(execDir, 'attach'));
    await relay.ready;
  } catch (err) {
    await abandon(0);
    throw err;
  }

  // Let conmon run `runc exec` (end-of-file on the start pipe), then read the pid or the runtime's error.
  startPipe.end();
  const started = await sync();
  if (!started || started.data <= 0) {
    await abandon(5000);
    if (started?.message) throw p.startError(started.message);
    throw new InternalError(`Cannot exec in container ${p.containerId}: its monitor (conmon) exited without reporting the process`);
  }
  return sessionOf(p, { pid: started.data, conmonPid, relay, sync, link, tty });
}

function sessionOf(
  p: ExecSessionParams,
  s: {
    pid: number;
    conmonPid: number | undefined;
    relay: Relay;
    sync: () => Promise<ConmonMessage | undefined>;
    link: string;
    tty: boolean;
  },
): ExecSession {
  const { execDir } = p;
  const { relay } = s;
  const relayStdin = relay.child.stdin!;
  // Without stdin, nothing may reach the process (with a terminal conmon would forward it to the tty).
  if (!p.stdin) relayStdin.end();
  const stdin = p.stdin ? relayStdin : new Writable({ write: (_chunk, _enc, cb) => cb() });

  let exited = false;
  const exitCode = (async (): Promise<number | undefined> => {
    const msg = await s.sync();
    exited = true;
    return msg?.data;
  })();

  const kill = () => {
    if (!exited) killQuietly(s.pid, 'SIGKILL');
  };
  const onAbort = () => kill();
  if (p.signal?.aborted) kill();
  else p.signal?.addEventListener('abort', onAbort, { once: true });

  const done = (async () => {
    try {
      const code = await exitCode;
      // conmon closes the attach socket when it exits, right after reporting; give the relay time to drain.
      if (!(await Promise.race([relay.closed.then(() => true), sleep(10_000).then(() => false)]))) relay.child.kill('SIGKILL');
      if (code === undefined) {
        const recorded = await readFile(join(execDir, p.containerId), 'utf8').catch(() => '');
        if (recorded.trim() !== '') return Number(recorded.trim());
        throw new FailedPreconditionError(
          `Exec session ${p.execId} in container ${p.containerId} ended without an exit code: its monitor (conmon) exited early`,
        );
      }
      return code;
    } finally {
      p.signal?.removeEventListener('abort', onAbort);
      // conmon runs its exit command (removing execDir) after reporting: let it finish first.
      if (s.conmonPid !== undefined) await waitGone(s.conmonPid, 5000);
      await removeSession(execDir, s.link);
    }
  })();
  done.catch(() => undefined); // awaited by its caller; this only keeps an early rejection from being unhandled

  return {
    execId: p.execId,
    pid: s.pid,
    stdin,
    output: relay.output,
    done,
    async resize(size) {
      if (!s.tty) return;
      let fh;
      try {
        fh = await open(join(execDir, 'ctl'), fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
      } catch (err) {
        throw new FailedPreconditionError(`Cannot resize the terminal of exec session ${p.execId}: it has ended`, { cause: err });
      }
      try {
        await fh.write(`1 ${Math.floor(size.height)} ${Math.floor(size.width)}\n`);
      } finally {
        await fh.close();
      }
    },
    close: kill,
  };
}

interface Relay {
  child: ChildProcess;
  /** The relay's stdout (Docker-multiplexed frames), through a PassThrough that ends even if the relay is killed. */
  output: PassThrough;
  /** Resolves once the relay connected (a byte on its fd 3); rejects with its error text when it exits first. */
  ready: Promise<void>;
  /** Resolves when the relay exited and its stdio closed. */
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

function spawnRelay(relayPath: string, socket: string): Relay {
  const child = spawn(relayPath, ['--ready-fd=3', socket], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
  child.stdin!.on('error', () => {});
  const errors: Buffer[] = [];
  child.stderr!.on('data', (d: Buffer) => errors.push(d));
  const output = new PassThrough();
  child.stdout!.pipe(output);
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.on('error', (err) => resolve({ code: null, signal: null, stderr: err.message }));
    child.on('close', (code, signal) => resolve({ code, signal, stderr: Buffer.concat(errors).toString().trim() }));
  });
  const ready = new Promise<void>((resolve, reject) => {
    const fd3 = child.stdio[3] as Readable;
    fd3.on('error', () => {});
    fd3.once('data', () => {
      fd3.destroy();
      resolve();
    });
    void closed.then(({ code, signal, stderr }) =>
      reject(new InternalError(`Cannot attach to the exec session: ${stderr || `relay exited with ${code ?? signal}`}`)),
    );
  });
  ready.catch(() => undefined); // awaited by its caller; this only keeps an early rejection from being unhandled
  return { child, output, ready, closed };
}

/** A reader of conmon's newline-separated JSON messages; undefined once the pipe closed. */
function messages(stream: Readable): () => Promise<ConmonMessage | undefined> {
  const queue: ConmonMessage[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  let buf = '';
  stream.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line === '') continue;
      try {
        const m = JSON.parse(line) as { data?: number; pid?: number; exit_code?: number; message?: string };
        queue.push({ data: m.data ?? m.pid ?? m.exit_code ?? -1, message: m.message });
      } catch {
        queue.push({ data: -1, message: `unparseable message from conmon: ${JSON.stringify(line)}` });
      }
    }
    wake?.();
  });
  const end = () => {
    ended = true;
    wake?.();
  };
  stream.on('end', end);
  stream.on('close', end);
  stream.on('error', end);
  return async () => {
    while (queue.length === 0 && !ended) await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
    return queue.shift();
  };
}

async function removeSession(execDir: string, link: string): Promise<void> {
  await rm(execDir, { recursive: true, force: true });
  await rm(link, { force: true });
}

async function readPid(file: string): Promise<number | undefined> {
  const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** True when `pid` is a live (non-zombie) process with that command name. */
function isProcess(pid: number, comm: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) === comm && state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Waits up to `ms` for conmon `pid` to be gone; true when it is. */
async function waitGone(pid: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; isProcess(pid, 'conmon'); await sleep(20)) {
    if (Date.now() >= end) return false;
  }
  return true;
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
