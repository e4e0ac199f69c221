import { InternalError } from '@berth/errors';
import { runCommand } from '@berth/subprocess';

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
  const result = await execTool(file, args, input);
  if (result.code !== 0) {
    throw new InternalError(`Cannot set up the network: "${file} ${args.join(' ')}" failed: ${result.stderr.trim() || `exit ${result.code}`}`);
  }
  return result.stdout;
}
