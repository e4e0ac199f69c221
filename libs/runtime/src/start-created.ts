import { close, closeSync, constants as fsConstants, fstat, open, openSync, readSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { initAlive, readRuncState } from './init-signal.js';
import { hasHooks } from './stopped-delete.js';

/**
 * `runc start` of a created container without starting runc: what runc 1.1's `start` does for a
 * container in the created state (libcontainer's `exec`) — open the container's `exec.fifo`, on
 * which its init waits before exec-ing the command, read it to its end (the init writes one byte,
 * then its exec closes the fifo), and remove it (runc tells `created` from `running` by it). Every
 * start spawned one runc process for this (13–22 ms of the start, a fork of the whole agent each:
 * bench/README.md, "The run path"), as signalInit and deleteStopped spare `kill` and `delete`.
 *
 * The fifo is opened non-blocking: the open cannot wait for a writer, and the kernel reports no
 * hang-up to a reader until a writer has come and gone, so the read waits for the init. Its
 * liveness is checked every `pollMs` (runc checks every 100 ms): an init that died before writing
 * leaves the answer to runc.
 *
 * @returns `started`; `unknown` when this is not a plain case (poststart/other hooks recorded,
 *   NOTIFY_SOCKET set, no fifo, an unreadable state, an init gone): the caller asks runc then,
 *   which starts it or says why not in its own words.
 */
export async function startCreated(root: string, id: string, options: { pollMs?: number } = {}): Promise<'started' | 'unknown'> {
  // runc start waits for the container's sd_notify readiness then; runc keeps that job.
  if (process.env.NOTIFY_SOCKET) return 'unknown';
  const state = await readRuncState(root, id);
  if (state === 'missing' || state === 'unknown') return 'unknown';
  if (hasHooks(state.config?.Hooks) || hasHooks(state.config?.hooks)) return 'unknown';
  const pid = state.init_process_pid;
  const start = state.init_process_start;
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0 || (typeof start !== 'number' && typeof start !== 'string')) return 'unknown';
  const fifo = join(root, id, 'exec.fifo');
  if (!(await initAlive(pid, start))) return 'unknown';
  let fd: number;
  try {
    // A plain descriptor, not a FileHandle: the socket below owns and closes it.
    fd = await promisify(open)(fifo, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch {
    return 'unknown'; // no fifo: not in the created state (runc's error says which)
  }
  // From here on the init may run (a reader released it): whatever happens, the fifo is read.
  const stat = await promisify(fstat)(fd).catch(() => undefined);
  if (!stat?.isFIFO()) {
    await promisify(close)(fd);
    return 'unknown';
  }
  const bytes = await readToEnd(fd, { alive: () => initAlive(pid, start), pollMs: options.pollMs ?? 100, fifo });
  if (bytes === undefined) return 'unknown';
  // As runc: nothing read means another start got there first.
  if (bytes === 0) return 'unknown';
  await unlink(fifo).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  return 'started';
}

/**
 * Reads the fifo `fd` (owned from here on: closed when done) to its end. @returns the bytes read,
 * or undefined when the init died without writing (`alive` turned false with nothing in the fifo:
 * as runc, what the init wrote before it died is looked for with a non-blocking read first).
 */
function readToEnd(fd: number, o: { alive: () => Promise<boolean>; pollMs: number; fifo: string }): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const socket = new Socket({ fd, readable: true, writable: false });
    let bytes = 0;
    let settled = false;
    const finish = (value: number | undefined, err?: Error) => {
      if (settled) return;
      settled = true;
      clearInterval(poll);
      socket.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    const poll = setInterval(() => {
      void o.alive().then((yes) => {
        if (yes || settled) return;
        bytes += pendingBytes(o.fifo);
        finish(bytes > 0 ? bytes : undefined);
      }, (err: Error) => finish(undefined, err));
    }, o.pollMs);
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    socket.on('end', () => finish(bytes));
    socket.on('error', (err) => finish(undefined, err));
  });
}

/** What waits in the fifo unread (a non-blocking read through a descriptor of its own), 0 when nothing. */
function pendingBytes(fifo: string): number {
  let fd: number | undefined;
  try {
    fd = openSync(fifo, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    return readSync(fd, Buffer.alloc(16));
  } catch {
    return 0; // EAGAIN: nothing written; ENOENT: no fifo
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
