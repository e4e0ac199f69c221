import { stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { InvalidArgumentError } from '@berth/errors';
import { followInScope } from './follow-in-scope.js';

/** `$PATH` of a container whose environment has none (Docker's default). */
export const defaultPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Why the container's command cannot be started: 127 = not found, 126 = cannot be executed (Docker's codes). */
export class CommandNotRunnableError extends Error {
  constructor(
    message: string,
    readonly exitCode: 127 | 126,
  ) {
    super(message);
    this.name = 'CommandNotRunnableError';
  }
}

/**
 * Resolves `path` (absolute, inside the container) to a host path under `root`, following symlinks
 * as the kernel would inside the container (follow-in-scope.ts; at most 40, the kernel's limit):
 * absolute link targets and `..` never leave `root`. Returns undefined when a component does not
 * exist or the links loop.
 */
export async function resolveInRoot(root: string, path: string): Promise<string | undefined> {
  try {
    const resolved = await followInScope(path, { hostOf: (p) => posix.join(root, p), maxLinks: 40 });
    return resolved.exists ? posix.join(root, resolved.path) : undefined;
  } catch (err) {
    if (err instanceof InvalidArgumentError) return undefined; // ELOOP
    throw err;
  }
}

/**
 * Go's `exec.LookPath` inside a container rootfs, with the messages runc (and so Docker) gives:
 * `exec: "nosuch": executable file not found in $PATH` (127), `exec: "/x": stat /x: no such file
 * or directory` (127), `exec: "/etc/passwd": permission denied` (126).
 * @returns the command's path inside the container.
 */
export async function lookPath(rootfs: string, command: string, options: { env: string[]; workingDir?: string }): Promise<string> {
  const quoted = JSON.stringify(command);
  if (command.includes('/')) {
    const inContainer = posix.resolve(options.workingDir || '/', command);
    const host = await resolveInRoot(rootfs, inContainer);
    if (host === undefined) {
      throw new CommandNotRunnableError(`exec: ${quoted}: stat ${command}: no such file or directory`, 127);
    }
    if (!(await isExecutable(host))) throw new CommandNotRunnableError(`exec: ${quoted}: permission denied`, 126);
    return inContainer;
  }
  const pathVar = options.env.findLast((e) => e.startsWith('PATH='))?.slice(5) ?? defaultPath;
  for (const dir of pathVar.split(':')) {
    const candidate = posix.join(dir === '' ? '.' : dir, command);
    const host = await resolveInRoot(rootfs, posix.resolve(options.workingDir || '/', candidate));
    if (host !== undefined && (await isExecutable(host))) return candidate;
  }
  throw new CommandNotRunnableError(`exec: ${quoted}: executable file not found in $PATH`, 127);
}

async function isExecutable(hostPath: string): Promise<boolean> {
  try {
    const st = await stat(hostPath);
    return !st.isDirectory() && (st.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}
