import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';

export interface CommandResult {
  code: number;
  stdout: Buffer;
  stderr: Buffer;
}

export interface RunCommandOptions {
  /** Written to the program's stdin, which is then closed (closed at once without it). */
  input?: Buffer | string;
  /** SIGKILL after this long; the result then has code 137. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * The one way the platform runs a host program and collects its output (`mount`, `ip`, `getfattr`,
 * `ps`, `openssl`, `git`, …): runs `file args` to completion. Never rejects for a non-zero exit —
 * the caller reads `code` and words its own error from `stderr`; rejects with the spawn error
 * (ENOENT for a missing program) when the program cannot start.
 */
export function runCommand(file: string, args: string[], options: RunCommandOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const env = options.env ?? process.env;
    const child = spawn(programPath(file, env.PATH ?? ''), args, { argv0: file, stdio: ['pipe', 'pipe', 'pipe'], env, cwd: options.cwd });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs).unref();
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? 128 + (signal ? (signalNumber(signal) ?? 0) : 0),
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err),
      });
    });
    child.stdin.on('error', () => {}); // EPIPE from a program that exits without reading: its exit code tells
    child.stdin.end(options.input);
  });
}

/** Signal name → number (`SIGKILL` → 9). */
export function signalNumber(signal: string): number | undefined {
  const name = (signal.startsWith('SIG') ? signal : `SIG${signal}`) as keyof typeof constants.signals;
  return constants.signals[name];
}

const programPaths = new Map<string, string>();

/**
 * `file`'s absolute path on `path`, looked up once per process: a bare name makes the child try
 * execve(2) in every PATH directory before the right one (twelve failed calls per `ip` under the
 * PATH of `npx`, 2–10 ms on a loaded host). The bare name when none is found (the spawn's ENOENT
 * then says so, and it is looked up again next time).
 */
export function programPath(file: string, path: string): string {
  if (file.includes('/')) return file;
  const key = `${path}\0${file}`;
  let found = programPaths.get(key);
  if (found === undefined) {
    found = path.split(':').filter((dir) => dir.startsWith('/')).map((dir) => join(dir, file)).find(isExecutableFile);
    if (found === undefined) return file;
    programPaths.set(key, found);
  }
  return found;
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false; // not there, or not executable: the next directory
  }
}
