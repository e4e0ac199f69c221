import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { FailedPreconditionError, InternalError } from '@berth/errors';
import { runCommand } from '@berth/subprocess';

/**
 * An attach session to a container's conmon (its stdio, as `docker attach` / `docker run -it`).
 * conmon listens on a SOCK_SEQPACKET socket, which Node cannot open, so a tiny C relay
 * (`native/berth-attach.c`, compiled with gcc on first use) sits in between.
 */
export interface AttachSession {
  /** Bytes for the container's stdin (needs `stdin: true` at create). Ending it closes the container's stdin. */
  stdin: Writable;
  /**
   * The container's output in Docker's multiplexed stream format: frames of
   * `[1 stdout | 2 stderr, 0, 0, 0, length (uint32 BE)]` + data. With a terminal everything is stream 1
   * (Docker's tty attach sends the raw bytes: strip the headers with demuxFrames).
   */
  output: Readable;
  /** Resolves when conmon closed the socket (the container exited) or the session was closed. */
  done: Promise<void>;
  /** Detaches (the container keeps running). */
  close(): void;
}

const sourceUrl = new URL('../native/berth-attach.c', import.meta.url);
/** The relay source's hash, read once (it names the compiled relay). */
let sourceHash: Promise<string> | undefined;

/**
 * Path of the compiled relay under `binDir` (named by the hash of its source), compiling it with gcc
 * when missing. FailedPreconditionError when gcc is not installed.
 */
export async function ensureAttachRelay(binDir: string): Promise<string> {
  sourceHash ??= readFile(sourceUrl).then(
    (source) => createHash('sha256').update(source).digest('hex').slice(0, 12),
    (err: unknown) => {
      sourceHash = undefined;
      throw err;
    },
  );
  const path = join(binDir, `berth-attach-${await sourceHash}`);
  if (existsSync(path)) return path;
  await mkdir(binDir, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const res = await runCommand('gcc', ['-O2', '-Wall', '-o', tmp, sourceUrl.pathname], { timeoutMs: 120_000 }).catch((err: unknown) => {
    throw new FailedPreconditionError('Cannot build the attach relay: gcc is not installed (apt-get install gcc)', { cause: err });
  });
  if (res.code !== 0) throw new InternalError(`Cannot build the attach relay: ${res.stderr.toString().trim()}`);
  await chmod(tmp, 0o755);
  await rename(tmp, path);
  return path;
}

/**
 * Starts the relay on `socketPath` (`<socketDir>/<id>/attach`) and resolves once it is connected
 * (the relay writes a byte on its fd 3 after connect(2)): an attach made before `start` must be in
 * place before the process runs, or its first output goes only to the log. Without this wait the
 * start raced the relay's exec and connect, and under load a `docker attach` made before the start
 * missed the first line. With `waitMs`, a socket not there yet (conmon still starting) is tried
 * again every millisecond for that long. `signal` ends the relay (a session not connected yet
 * then rejects).
 */
export async function startAttach(relayPath: string, socketPath: string, options: { waitMs?: number; signal?: AbortSignal } = {}): Promise<AttachSession> {
  const wait = options.waitMs ? [`--wait-ms=${options.waitMs}`] : [];
  const child = spawn(relayPath, ['--ready-fd=3', ...wait, socketPath], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
  const abort = () => child.kill('SIGTERM');
  options.signal?.addEventListener('abort', abort, { once: true });
  if (options.signal?.aborted) abort();
  const errors: Buffer[] = [];
  child.stderr!.on('data', (d: Buffer) => errors.push(d));
  child.stdin!.on('error', () => {});
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      options.signal?.removeEventListener('abort', abort);
      if (code === 0 || signal === 'SIGTERM') resolve();
      else reject(new FailedPreconditionError(`Cannot attach: ${Buffer.concat(errors).toString().trim() || `relay exited with ${code ?? signal}`}`));
    });
  });
  done.catch(() => undefined); // awaited by its caller; this only keeps an early rejection from being unhandled
  const ready = child.stdio[3] as Readable;
  ready.on('error', () => {}); // the relay exiting first is reported by `done`
  await Promise.race([
    new Promise<void>((resolve) => ready.once('data', () => (ready.destroy(), resolve()))),
    done.then(() => {
      throw new FailedPreconditionError(`Cannot attach: ${Buffer.concat(errors).toString().trim() || 'the relay exited before it connected'}`);
    }),
  ]);
  return { stdin: child.stdin!, output: child.stdout!, done, close: () => child.kill('SIGTERM') };
}

/** Splits Docker-multiplexed frames into `{ stream, data }` chunks. */
export async function* demuxFrames(output: AsyncIterable<Buffer | string>): AsyncIterable<{ stream: 'stdout' | 'stderr'; data: Buffer }> {
  let buf = Buffer.alloc(0);
  for await (const chunk of output) {
    buf = Buffer.concat([buf, typeof chunk === 'string' ? Buffer.from(chunk) : chunk]);
    while (buf.length >= 8) {
      const len = buf.readUInt32BE(4);
      if (buf.length < 8 + len) break;
      yield { stream: buf[0] === 2 ? 'stderr' : 'stdout', data: Buffer.from(buf.subarray(8, 8 + len)) };
      buf = buf.subarray(8 + len);
    }
  }
}
