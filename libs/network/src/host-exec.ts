import { InternalError } from '@berth/errors';
import { programPath, runCommand } from '@berth/subprocess';
import { toolForker } from './tool-forker.js';

/** Runs host tools (`ip`, `iptables-restore`, ...) for the network driver. */

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `file args` to completion (stdin from `input`); never rejects for a non-zero exit. */
export async function execTool(file: string, args: string[], input?: string): Promise<ExecResult> {
  const { code, stdout, stderr } = await runCommand(file, args, { input });
  return { code, stdout: stdout.toString(), stderr: stderr.toString() };
}

/** Like execTool, but a non-zero exit throws InternalError naming the command and its stderr. */
export async function mustExec(file: string, args: string[], input?: string): Promise<string> {
  return succeeded(file, args, await execTool(file, args, input));
}

/**
 * mustExec with the tool forked by the resident tool forker (tool-forker.ts) rather than by this
 * process, whose event loop would stand still meanwhile: for the short `ip` batches of a
 * container's start. Run here when there is no forker.
 */
export async function mustExecForked(file: string, args: string[], input?: string): Promise<string> {
  const path = programPath(file, process.env.PATH ?? '');
  const forked = path.startsWith('/') ? await toolForker.run(path, args, input) : undefined;
  return succeeded(file, args, forked ?? (await execTool(file, args, input)));
}

function succeeded(file: string, args: string[], result: ExecResult): string {
  if (result.code !== 0) {
    throw new InternalError(`Cannot set up the network: "${file} ${args.join(' ')}" failed: ${result.stderr.trim() || `exit ${result.code}`}`);
  }
  return result.stdout;
}
