import { spawn } from 'node:child_process';
import { InternalError } from '@berth/errors';

/** Runs host tools (`ip`, `iptables-restore`, ...) for the network driver. */

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `file args` to completion (stdin from `input`); never rejects for a non-zero exit. */
export function execTool(file: string, args: string[], input?: string): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

/** Like execTool, but a non-zero exit throws InternalError naming the command and its stderr. */
export async function mustExec(file: string, args: string[], input?: string): Promise<string> {
  const result = await execTool(file, args, input);
  if (result.code !== 0) {
    throw new InternalError(`Cannot set up the network: "${file} ${args.join(' ')}" failed: ${result.stderr.trim() || `exit ${result.code}`}`);
  }
  return result.stdout;
}
