import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliResult } from './run-cli.js';

/** A throwaway unprivileged system user (and its own group), for "as another local user" tests. */
export interface SystemUser extends AsyncDisposable {
  name: string;
  uid: number;
  gid: number;
  /** A fresh home directory the user owns (HOME of `run`). */
  home: string;
  /**
   * Runs `command` as the user (setpriv: its uid and gid, supplementary groups `groups` only), with
   * a small environment (PATH, HOME, `env`). Never rejects on a non-zero exit.
   */
  run(command: string[], options?: { groups?: number[]; env?: Record<string, string>; input?: string; timeoutMs?: number }): Promise<CliResult>;
  remove(): void;
}

/** A new system group; `remove()` deletes it. */
export interface SystemGroup {
  name: string;
  gid: number;
  remove(): void;
}

function must(command: string, args: string[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

/** Creates a user `berth-t-<random>` with no login shell and no privileges (needs root). */
export function createSystemUser(): SystemUser {
  const name = `berth-t-${randomBytes(3).toString('hex')}`;
  must('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', name]);
  const uid = Number(must('id', ['-u', name]).trim());
  const gid = Number(must('id', ['-g', name]).trim());
  const home = mkdtempSync(join(tmpdir(), `${name}-home-`));
  chownSync(home, uid, gid);
  const running = new Set<ChildProcess>();
  const remove = () => {
    for (const child of running) child.kill('SIGKILL'); // setpriv execs the command: same pid
    spawnSync('userdel', [name], { stdio: 'ignore' });
    spawnSync('groupdel', [name], { stdio: 'ignore' }); // gone with the user on most systems
    rmSync(home, { recursive: true, force: true });
  };
  const run: SystemUser['run'] = (command, options = {}) =>
    new Promise((resolve, reject) => {
      const groups = options.groups ?? [];
      const args = [`--reuid=${uid}`, `--regid=${gid}`, groups.length > 0 ? `--groups=${groups.join(',')}` : '--clear-groups', '--', ...command];
      const child = spawn('setpriv', args, {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...options.env },
        cwd: home,
        stdio: [options.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      });
      running.add(child);
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d) => (stdout += d));
      child.stderr!.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        running.delete(child);
        clearTimeout(timer);
        resolve({ code: code ?? (signal ? 137 : 1), stdout, stderr });
      });
      if (options.input !== undefined) {
        child.stdin!.on('error', () => undefined); // the command may exit without reading it all
        child.stdin!.end(options.input);
      }
    });
  return { name, uid, gid, home, run, remove, [Symbol.asyncDispose]: async () => remove() };
}

/** Creates a system group `berth-g-<random>` (needs root). */
export function createSystemGroup(): SystemGroup {
  const name = `berth-g-${randomBytes(3).toString('hex')}`;
  must('groupadd', ['--system', name]);
  const gid = Number(must('getent', ['group', name]).split(':')[2]);
  return { name, gid, remove: () => void spawnSync('groupdel', [name], { stdio: 'ignore' }) };
}
