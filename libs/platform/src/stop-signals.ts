/**
 * How a platform service stops on SIGTERM or SIGINT: it runs its `stop` steps, then exits 0; and it
 * is gone within `graceMs` whatever those steps wait on (NATS not answering, a full disk), as
 * dockerd's shutdown timeout ends a daemon that does not stop by itself.
 *
 * `process.exit` alone is not bounded: it joins libuv's thread pool first, so one file system call
 * or DNS lookup that never returns (a FIFO nobody opens, a hung mount) keeps the process up for
 * ever. So a stop that overruns its grace, or ends with such a request still pending, ends the
 * process by the signal's default action instead (status 128 + signal, as an unhandled SIGTERM),
 * which waits for nothing. A second signal during the stop ends it that way at once.
 */
import type { Logger } from '@berth/log';

export interface StopOnSignalsOptions {
  log: Logger;
  /** How long the stop steps may take before the process ends anyway; 5 s unless given. */
  graceMs?: number;
  /** The signals that stop the service; SIGTERM and SIGINT unless given. */
  signals?: NodeJS.Signals[];
}

/** The kinds of pending request that run on libuv's thread pool (`process.getActiveResourcesInfo`). */
const THREAD_POOL_REQUEST = /^(FSReq|FileHandle|GetAddrInfo|GetNameInfo|ZlibWrap|CryptoJob|.*Job$)/;

export function stopOnSignals(stop: () => Promise<void>, options: StopOnSignalsOptions): void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const graceMs = options.graceMs ?? 5_000;
  const handlers = signals.map((signal) => {
    const handler = () => {
      // From now on each of these signals has its default action again: a second one ends the
      // process without waiting (the handler was `once`; the others are dropped here).
      for (const [other, h] of handlers) if (other !== signal) process.off(other, h);
      const started = Date.now();
      options.log.info({ signal }, 'Stopping');
      const deadline = setTimeout(() => {
        options.log.warn({ graceMs, pending: pendingResources() }, 'Did not stop within the grace period: exiting anyway');
        endBySignal(signal);
      }, graceMs);
      void stop()
        .catch((err: unknown) => options.log.error({ err }, 'Stopping failed'))
        .then(() => {
          clearTimeout(deadline);
          const pending = threadPoolRequests();
          if (pending.length > 0) {
            options.log.warn({ ms: Date.now() - started, pending }, 'Stopped, with requests still pending: exiting without waiting for them');
            endBySignal(signal);
          }
          options.log.info({ ms: Date.now() - started }, 'Stopped');
          process.exit(0);
        });
    };
    process.once(signal, handler);
    return [signal, handler] as const;
  });
}

function threadPoolRequests(): string[] {
  return process.getActiveResourcesInfo().filter((kind) => THREAD_POOL_REQUEST.test(kind));
}

function pendingResources(): string[] {
  return process.getActiveResourcesInfo().filter((kind) => kind !== 'Timeout' && kind !== 'TTYWrap');
}

/** The signal's default action: the kernel ends the process, joining no thread. */
function endBySignal(signal: NodeJS.Signals): never {
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
  // The kernel acts on it at once, but maybe on another thread: give it a moment. Should some
  // code have made the process ignore it, SIGKILL cannot be ignored.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1_000);
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable');
}
