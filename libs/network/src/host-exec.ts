import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
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
  const { code, stdout, stderr } = await runCommand(toolPath(file), args, { input });
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

const toolPaths = new Map<string, string>();

/**
 * `file`'s absolute path on PATH, looked up once per process: a bare name makes the child try
 * execve(2) in every PATH directory before the right one (twelve failed calls per `ip` under the
 * PATH of `npx`, 2–10 ms on a loaded host). The bare name when none is found (the spawn's ENOENT
 * then says so, and it is looked up again next time).
 */
function toolPath(file: string): string {
  if (file.includes('/')) return file;
  let path = toolPaths.get(file);
  if (path === undefined) {
    path = (process.env.PATH ?? '').split(':').filter((dir) => dir.startsWith('/')).map((dir) => join(dir, file)).find(isExecutableFile);
    if (path === undefined) return file;
    toolPaths.set(file, path);
  }
  return path;
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
