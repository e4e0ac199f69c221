import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Signals a container's init process the way `runc kill ID SIG` does (without `--all`), without
 * starting runc: read the runtime's state (`<root>/<id>/state.json`: `init_process_pid` and
 * `init_process_start`), make sure that pid is still the container's init (same start time in
 * /proc/<pid>/stat, not a zombie: a reused pid is never signalled), then kill(2) it. A `stop`
 * spawned one runc process for this (10–30 ms of the agent's event loop each under load, as Node
 * forks the whole agent to spawn; bench/README.md, "compose down").
 *
 * @returns `sent`; `not-running` when the init is gone (runc's "container not running"); `missing`
 *   when the runtime has no state for the id; `unknown` when the state cannot be read as expected
 *   (the caller then asks runc).
 */
export async function signalInit(root: string, id: string, signal: number): Promise<'sent' | 'not-running' | 'missing' | 'unknown'> {
  const state = await readRuncState(root, id);
  if (state === 'missing' || state === 'unknown') return state;
  const pid = state.init_process_pid;
  const start = state.init_process_start;
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0 || (typeof start !== 'number' && typeof start !== 'string')) return 'unknown';
  if (!(await initAlive(pid, start))) return 'not-running';
  try {
    process.kill(pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return 'not-running';
    throw err;
  }
  return 'sent';
}

/** runc's `state.json` of a container (the fields Berth reads), `missing` without one, `unknown` when unreadable. */
export interface RuncState {
  init_process_pid?: unknown;
  init_process_start?: unknown;
  cgroup_paths?: unknown;
  config?: { namespaces?: unknown; Hooks?: unknown; hooks?: unknown };
}

export async function readRuncState(root: string, id: string): Promise<RuncState | 'missing' | 'unknown'> {
  try {
    return JSON.parse(await readFile(join(root, id, 'state.json'), 'utf8')) as RuncState;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unknown';
  }
}

/** Whether `pid` is still the init that started at `start` (clock ticks since boot), not a zombie. */
export async function initAlive(pid: number, start: number | string): Promise<boolean> {
  const stat = await procStat(pid);
  return stat !== undefined && stat.startTime === String(start) && stat.state !== 'Z' && stat.state !== 'X';
}

/** A process's state letter and start time (clock ticks since boot) from /proc/<pid>/stat; undefined when gone. */
async function procStat(pid: number): Promise<{ state: string; startTime: string } | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces or parentheses: split after the last `)`.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTime = fields[19];
  return state === undefined || startTime === undefined ? undefined : { state, startTime };
}
