import { PassThrough } from 'node:stream';
import { runCli } from './cli.js';

/** What one in-process run of the CLI printed, and its exit code. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  env?: Record<string, string | undefined>;
  /** Written to the CLI's stdin, which is then closed; without it stdin stays open and empty. */
  stdin?: string;
  /** A terminal of this width as stdout (help wraps to it); without it stdout is no terminal. */
  columns?: number;
  /** With `columns`: the terminal's height. */
  rows?: number;
}

/** Runs `berth ARGV` in this process, as the tests of the command line do, and collects its output. */
export async function runCliCaptured(argv: string[], options: CliRunOptions = {}): Promise<CliRun> {
  const stdout = Object.assign(new PassThrough(), options.columns ? { isTTY: true, columns: options.columns, rows: options.rows } : {});
  const stderr = new PassThrough();
  const stdin = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  if (options.stdin !== undefined) stdin.end(options.stdin);
  const code = await runCli(argv, { stdout, stderr, stdin, env: options.env ?? {} });
  return { code, stdout: out, stderr: err };
}
