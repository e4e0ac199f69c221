import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { commandLineOf, isAlive, isRunning } from './process-liveness.js';
import type { PlatformSettings } from './platform-settings.js';

/**
 * Has this host's running nats-server reload its config (SIGHUP: users, permissions, routes). Its
 * pid is the one `platform up` recorded (run root's platform/nats.pid), if that process still runs
 * the command line recorded with it (or, started by a Berth that kept none, is a nats-server).
 * @returns false when it does not run
 */
export function reloadNatsServer(settings: Pick<PlatformSettings, 'runRoot'>): boolean {
  const dir = join(settings.runRoot, 'platform');
  let pid: number;
  try {
    pid = Number(readFileSync(join(dir, 'nats.pid'), 'utf8').trim());
  } catch {
    return false; // never started here
  }
  if (!(pid > 0)) return false;
  const cmdline = join(dir, 'nats.cmdline');
  const running = existsSync(cmdline)
    ? isRunning(pid, readFileSync(cmdline, 'utf8').split('\0'))
    : isAlive(pid) && basename(commandLineOf(pid)?.[0] ?? '') === 'nats-server';
  if (!running) return false;
  process.kill(pid, 'SIGHUP');
  return true;
}
