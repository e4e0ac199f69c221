import { spawn } from 'node:child_process';
import { constants } from 'node:os';

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
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env, cwd: options.cwd });
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
