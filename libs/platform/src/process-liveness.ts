import { readFileSync } from 'node:fs';

/**
 * Whether a process recorded in a pid file is still the one that was started. `kill(pid, 0)` is
 * not enough: a process killed with SIGKILL stays a zombie (state Z) until its parent reaps it, and
 * after a reboot or a long time the pid may belong to an unrelated process.
 */

/** The state letter of /proc/<pid>/stat (R, S, D, Z, X, …); undefined when there is no such process. */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "<pid> (<comm>) <state> …": comm may hold spaces and parentheses, so read after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) || undefined;
  } catch {
    return undefined;
  }
}

/** True when `pid` exists and is neither a zombie nor dead. */
export function isAlive(pid: number): boolean {
  const state = processState(pid);
  return state !== undefined && state !== 'Z' && state !== 'X' && state !== 'x';
}

/** The argv of `pid` as /proc/<pid>/cmdline has it; undefined when it is gone (or a zombie: empty). */
export function commandLineOf(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (raw === '') return undefined;
    return raw.replace(/\0$/, '').split('\0');
  } catch {
    return undefined;
  }
}

/** True when `pid` is alive and runs exactly `command` (what was started under that pid). */
export function isRunning(pid: number, command: readonly string[]): boolean {
  if (!isAlive(pid)) return false;
  const actual = commandLineOf(pid);
  return actual !== undefined && actual.length === command.length && actual.every((arg, i) => arg === command[i]);
}

/** True when two command lines run the same program: same executable and same script (`*.ts`, `*.js`). */
export function sameProgram(actual: readonly string[], expected: readonly string[]): boolean {
  const script = (argv: readonly string[]) => argv.find((a) => /\.[cm]?[jt]s$/.test(a));
  return actual.length > 0 && actual[0] === expected[0] && script(actual) === script(expected);
}
