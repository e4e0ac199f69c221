import { spawn } from 'node:child_process';
import { UnavailableError } from '@berth/errors';

/**
 * A lock shared by every Berth agent on the host, for the few host objects no agent owns alone
 * (the loopback guard, loopback-guard.ts). It is an flock(2) on a root-only file under /run, held by
 * a `flock` child process for as long as `fn` runs: the kernel releases it when that child or this
 * process dies, so a crashed agent never leaves it held.
 */

export const hostLockPath = '/run/berth-network.lock';

/** Runs `fn` holding the lock. UnavailableError when another holder keeps it past `timeoutMs`. */
export async function withHostLock<T>(fn: () => Promise<T>, o: { path?: string; timeoutMs?: number } = {}): Promise<T> {
  const path = o.path ?? hostLockPath;
  const seconds = Math.max(1, Math.ceil((o.timeoutMs ?? 30_000) / 1000));
  // `flock` prints once it holds the lock, then keeps it until its stdin closes.
  const holder = spawn('flock', ['-w', String(seconds), path, 'sh', '-c', 'echo locked; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<number>((resolve) => {
    holder.on('error', () => resolve(-1));
    holder.on('close', (code) => resolve(code ?? -1));
  });
  let stderr = '';
  holder.stderr.on('data', (d) => (stderr += d));
  holder.stdin.on('error', () => {}); // the holder gone early: `exited` reports it
  const locked = await new Promise<boolean>((resolve) => {
    holder.stdout.once('data', () => resolve(true));
    void exited.then(() => resolve(false));
  });
  if (!locked) {
    throw new UnavailableError(`Cannot lock "${path}" within ${seconds} s: ${stderr.trim() || `flock exited with ${await exited}`}`);
  }
  try {
    return await fn();
  } finally {
    holder.stdin.end();
    await exited;
  }
}
