import { readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { InternalError, InvalidArgumentError } from '@berth/errors';
import { mountCall, mountHelper, NoMountHelper, runCommand } from '@berth/subprocess';

/**
 * A mount to perform, in containerd's shape: `mount -t <type> -o <options> <source> <target>`.
 * `cwd` is the directory the mount runs in: overlay resolves relative `lowerdir` paths against it,
 * which is how a 100+ layer chain fits the one-page limit of mount options.
 */
export interface Mount {
  /** "overlay" or "bind". */
  type: string;
  source: string;
  /** Where to mount, relative to the target given to mountAll (default: the target itself). */
  target?: string;
  /** e.g. ["rbind", "ro"] or ["lowerdir=12/fs:11/fs", "upperdir=/…/13/fs", "workdir=/…/13/work"]. */
  options: string[];
  cwd?: string;
}

/** mount(2) copies at most one page of option data, terminating NUL included. */
export const MAX_MOUNT_OPTIONS_LENGTH = 4095;

interface RunResult {
  code: number;
  stderr: string;
}

async function run(command: string, args: string[], cwd?: string): Promise<RunResult> {
  const result = await runCommand(command, args, { cwd }).catch((err: Error) => {
    throw new InternalError(`Cannot run "${command}": ${err.message}`, { cause: err });
  });
  return { code: result.code, stderr: result.stderr.toString().trim() };
}

/**
 * Performs `mounts` in order onto `target` (which must exist). If one fails, the ones already
 * made are unmounted again and InternalError carries mount's message. Bind mounts take their
 * flavour from the options ("bind" or "rbind", plus "ro"/"rw").
 */
export async function mountAll(mounts: Mount[], target: string): Promise<void> {
  const done: string[] = [];
  try {
    for (const mount of mounts) {
      const destination = mount.target ? join(target, mount.target) : target;
      const options = mount.options.join(',');
      if (options.length > MAX_MOUNT_OPTIONS_LENGTH) {
        throw new InvalidArgumentError(
          `Cannot mount ${mount.type} on "${destination}": its options are ${options.length} bytes long, more than the kernel's ${MAX_MOUNT_OPTIONS_LENGTH}`,
        );
      }
      const answered = await mountByHelper(mount, destination);
      if (answered !== undefined) {
        throw new InternalError(`Cannot mount ${mount.type} on "${destination}": ${answered.message}`);
      }
      done.push(destination);
    }
  } catch (err) {
    // the mount error is thrown; what stays mounted lies under target, which the caller unmounts in its cleanup (and logs there)
    for (const destination of done.reverse()) await unmount(destination).catch(() => {});
    throw err;
  }
}

/**
 * One mount through the resident helper (mount-helper.ts), else through the `mount` program.
 * @returns undefined once mounted, else why not.
 */
async function mountByHelper(mount: Mount, destination: string): Promise<{ message: string } | undefined> {
  const call = mountCall(mount, destination);
  if (call !== undefined) {
    try {
      return await mountHelper.mount(call);
    } catch (err) {
      if (!(err instanceof NoMountHelper)) throw err;
      // The helper died while asked: the call may have been made before it did.
      if (await isMountPoint(destination)) return undefined;
    }
  }
  const isBind = mount.type === 'bind' || mount.options.includes('bind') || mount.options.includes('rbind');
  const options = mount.options.join(',');
  const args = [...(isBind ? [] : ['-t', mount.type]), ...(options ? ['-o', options] : []), '--', mount.source, destination];
  const result = await run('mount', args, mount.cwd);
  return result.code === 0 ? undefined : { message: result.stderr || `mount exited with ${result.code}` };
}

/** Mount points of this process's mount namespace (octal escapes of /proc/self/mountinfo decoded). */
export async function mountPoints(): Promise<MountPoint[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const fields = line.split(' ');
      const separator = fields.indexOf('-');
      return {
        device: fields[2],
        root: unescape(fields[3]),
        target: unescape(fields[4]),
        type: fields[separator + 1],
        superOptions: fields[separator + 3] ?? '',
      };
    });
}

/** One line of /proc/self/mountinfo. */
export interface MountPoint {
  /** `major:minor` of the filesystem mounted. */
  device: string;
  /** The directory of that filesystem mounted here (`/` unless a bind mount of a subdirectory). */
  root: string;
  target: string;
  type: string;
  superOptions: string;
}

/**
 * Where absolute path `path` (no symlinks in it) is in its filesystem, from the deepest mount
 * point above it: the filesystem's device and the path from that filesystem's root. A bind mount
 * of `path` or of a directory under it shows this device and a root at or under this path.
 */
export function placeInFilesystem(mounts: MountPoint[], path: string): { device: string; path: string } | undefined {
  let best: MountPoint | undefined;
  for (const m of mounts) {
    const above = m.target === '/' || path === m.target || path.startsWith(`${m.target}/`);
    if (above && (best === undefined || m.target.length >= best.target.length)) best = m;
  }
  if (best === undefined) return undefined;
  const rest = best.target === '/' ? path : path.slice(best.target.length);
  return { device: best.device, path: `${best.root === '/' ? '' : best.root}${rest}` || '/' };
}

async function isMountPoint(path: string): Promise<boolean> {
  return (await mountPoints()).some((m) => m.target === path);
}

/** A first unmount: umount2(2) through the resident helper, else with others in one `umount` process. */
async function umountFirst(path: string): Promise<RunResult> {
  try {
    const answer = await mountHelper.umount(path);
    return answer === undefined ? { code: 0, stderr: '' } : { code: 32, stderr: `umount: ${path}: ${answer.message}` };
  } catch (err) {
    if (!(err instanceof NoMountHelper)) throw err;
    return umountTogether(path);
  }
}

/** The `umount` process running, and the targets waiting for the next one. */
let umountRunning: Promise<unknown> | undefined;
let umountNext: { targets: string[]; result: Promise<RunResult> } | undefined;

/**
 * `umount` of `path` in one process with the other unmounts asked meanwhile: while one runs, the
 * next ones gather and go together after it (thirty containers stopped at once by `compose down`
 * spawn two or three processes, not thirty; each spawn stalls the agent: bench/README.md).
 */
function umountTogether(path: string): Promise<RunResult> {
  if (umountNext === undefined) {
    const targets: string[] = [];
    const before = umountRunning ?? Promise.resolve();
    const result = before.then(() => {
      if (umountNext?.targets === targets) umountNext = undefined;
      return run('umount', ['--', ...targets]);
    });
    umountNext = { targets, result };
    umountRunning = result;
    // Settled: the next batch need not wait for it (its failure is each caller's, through `result`).
    void result.catch(() => undefined).finally(() => {
      if (umountRunning === result) umountRunning = undefined;
    });
  }
  umountNext.targets.push(path);
  return umountNext.result;
}

/**
 * Unmounts everything stacked on `target`; a no-op when nothing is mounted there (or it does not
 * exist), so it is safe in cleanup paths. A mount still busy after a few retries is detached
 * lazily (`umount -l`): the kernel finishes once its last user goes away.
 */
export async function unmount(target: string): Promise<void> {
  const path = await realpath(target).catch(() => undefined); // no such path: nothing mounted there
  if (path === undefined) return;
  for (let attempt = 0; await isMountPoint(path); attempt++) {
    const result = attempt === 0 ? await umountFirst(path) : await run('umount', attempt < 10 ? [path] : ['-l', path]);
    if (result.code === 0 || attempt === 0) continue; // a batch's failure may be another target's: checked, then retried alone
    if (attempt >= 10) throw new InternalError(`Cannot unmount "${path}": ${result.stderr}`);
    if (!/busy/i.test(result.stderr)) {
      if (!(await isMountPoint(path))) return;
      throw new InternalError(`Cannot unmount "${path}": ${result.stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
