import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@berth/errors';
import { ensureAttachRelay } from './attach.js';
import { startExecSession, type ExecSession } from './exec-session.js';
import type { OciProcess, OciSpec } from './oci-spec.js';
import { checkId, cleanRuntimeError, runtimeError } from './runtime-errors.js';
import type { ExecInteractiveOptions, ExecOptions, ExecProcess, ExecResult, RuntimeState } from './runtime-types.js';
import { signalNumber } from '@berth/subprocess';

/**
 * Processes run in a running container (`docker exec`): collected, streamed, interactive through a
 * conmon of their own, or detached. Each takes the container's process spec (capabilities, rlimits,
 * no-new-privileges, environment) with the exec's options applied.
 */

/** What the exec functions need from the driver. */
export interface ExecContext {
  runtimePath: string;
  conmonPath: string;
  /** Global runtime flags (`--root=...`). */
  globalArgs: string[];
  /** The runtime's state directory. */
  root: string;
  socketDir: string;
  /** Where the attach relay is compiled. */
  relayDir: string;
  persistDirOf(id: string): string;
  state(id: string): Promise<RuntimeState>;
}

/**
 * Runs a process in the running container (runtime `exec`) and collects its output. The process
 * inherits the container's capabilities, rlimits, no-new-privileges and environment (`options.env`
 * entries override). A command that cannot be started throws like `create` does
 * (`OCI runtime exec failed: ...`, codes COMMAND_NOT_FOUND / COMMAND_NOT_EXECUTABLE).
 */
export async function execCollect(ctx: ExecContext, id: string, options: ExecOptions): Promise<ExecResult> {
  const proc = await spawnExec(ctx, id, options);
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
export async function spawnExec(ctx: ExecContext, id: string, options: Omit<ExecOptions, 'stdin'>): Promise<ExecProcess> {
  const { processFile, pidFile } = await writeExecProcess(ctx, id, options);
  const child = spawn(ctx.runtimePath, [...ctx.globalArgs, 'exec', '--process', processFile, '--pid-file', pidFile, id], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.on('error', () => {});
  const onAbort = () => {
    void readFile(pidFile, 'utf8')
      .then((pid) => process.kill(Number(pid), 'SIGKILL'))
      .catch(() => undefined); // the process ended already: nothing to kill
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
  exited.catch(() => undefined); // awaited by its caller; this only keeps an early rejection from being unhandled
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
export async function execInteractive(ctx: ExecContext, id: string, options: ExecInteractiveOptions): Promise<ExecSession> {
  checkId(id);
  const execId = options.execId ?? randomBytes(16).toString('hex');
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(execId)) {
    throw new InvalidArgumentError(`Invalid exec id "${execId}": expected letters, digits, '_', '.' and '-'`);
  }
  const tty = options.tty === true;
  const proc = await execProcessSpec(ctx, id, options, tty ? { consoleSize: options.consoleSize } : undefined);
  if (tty && !proc.env.some((e) => e.startsWith('TERM='))) proc.env.push('TERM=xterm');
  const relayPath = await ensureAttachRelay(ctx.relayDir);
  const execDir = join(ctx.persistDirOf(id), `exec-${execId}`);
  await mkdir(ctx.persistDirOf(id), { recursive: true, mode: 0o700 });
  await mkdir(ctx.socketDir, { recursive: true, mode: 0o700 });
  // conmon links <socketDir>/<execId> to the session: the name must not be a container's or another session's.
  const taken = () => new AlreadyExistsError(`Exec id "${execId}" is already in use`);
  if (await lstat(join(ctx.socketDir, execId)).then(() => true, () => false)) throw taken();
  try {
    await mkdir(execDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw taken();
    throw err;
  }
  return startExecSession({
    conmonPath: ctx.conmonPath,
    runtimePath: ctx.runtimePath,
    runtimeArgs: ctx.globalArgs,
    containerId: id,
    execId,
    execDir,
    socketDir: ctx.socketDir,
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
export async function execDetached(ctx: ExecContext, id: string, options: Omit<ExecOptions, 'stdin' | 'signal'>): Promise<{ pid: number }> {
  const { processFile, pidFile } = await writeExecProcess(ctx, id, options);
  const logFile = processFile.replace(/\.json$/, '.log');
  try {
    const args = [`--root=${ctx.root}`, `--log=${logFile}`, '--log-format=json', 'exec', '--detach', '--process', processFile, '--pid-file', pidFile, id];
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(ctx.runtimePath, args, { stdio: 'ignore' });
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

async function writeExecProcess(ctx: ExecContext, id: string, options: Omit<ExecOptions, 'stdin'>): Promise<{ processFile: string; pidFile: string }> {
  const proc = await execProcessSpec(ctx, id, options);
  const persist = ctx.persistDirOf(id);
  await mkdir(persist, { recursive: true, mode: 0o700 });
  const name = `exec-${randomBytes(6).toString('hex')}`;
  const processFile = join(persist, `${name}.json`);
  await writeFile(processFile, JSON.stringify(proc), { mode: 0o600 });
  return { processFile, pidFile: join(persist, `${name}.pid`) };
}

/**
 * The process spec of an exec: the container's process (capabilities, rlimits, environment...) with
 * `options` applied. FailedPreconditionError unless the container is running.
 * runc 1.1.5 applies these rlimits racily: an exec may get soft nofile = hard (docs/dev/containers.md,
 * "Known runc limits").
 */
async function execProcessSpec(
  ctx: ExecContext,
  id: string,
  options: Omit<ExecOptions, 'stdin'>,
  terminal?: { consoleSize?: { height: number; width: number } },
): Promise<OciProcess> {
  if (options.args.length === 0) throw new InvalidArgumentError('No command specified');
  const state = await ctx.state(id);
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
