import { PassThrough } from 'node:stream';
import { ContainerSummary } from '@berth/proto';
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

/** The full id of the tests' container `web`. */
export const webContainerId = 'f1e2d3c4b5a6978812345678901234567890abcdefabcdefabcdefabcdef1234';

/** The summary (as `ps` gets it) of a running busybox container `web`, with the fields a test gives. */
export function webContainer(fields: Partial<ContainerSummary>): ContainerSummary {
  return ContainerSummary.fromPartial({ id: webContainerId, names: ['/web'], image: 'busybox', imageId: 'sha256:' + 'a'.repeat(64), state: 'running', ...fields });
}
