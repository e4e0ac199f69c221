import { runCommand, type RunCommandOptions } from '@berth/subprocess';

/** What a command-line program run by a test printed, and its exit code. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command-line program (`./berth`, the docker CLI, `script`) to completion with its output
 * as text, killed (code 137) after `timeoutMs`, 60 s unless given: a test reads code and output.
 */
export async function runCli(file: string, args: string[], options: RunCommandOptions = {}): Promise<CliResult> {
  const res = await runCommand(file, args, { ...options, timeoutMs: options.timeoutMs ?? 60_000 });
  return { code: res.code, stdout: res.stdout.toString(), stderr: res.stderr.toString() };
}
