import { mkdir, readdir, statfs } from 'node:fs/promises';
import { InternalError } from '@berth/errors';
import { runCommand } from '@berth/subprocess';

const TMPFS_MAGIC = 0x01021994;

/**
 * Makes sure `dir` lives in memory (tmpfs), as a run root should: conmon writes a container's exit
 * code there when the container exits (`<exitDir>/<id>`, `<persistDir>/<id>/exit`), and on a full
 * data root it could not, so the code was lost (read back as 255). A directory already on a tmpfs
 * (the default `/run/berth` on most hosts) is left alone; an empty one elsewhere gets a tmpfs of
 * its own (0700, `size`); a non-empty one is kept as it is, because monitors of running containers
 * write into it. The mount outlives the agent, like the containers; it goes with the host's reboot
 * or an unmount. @returns what it found or did.
 */
export async function ensureVolatileDir(dir: string, options: { sizeMb?: number } = {}): Promise<'tmpfs' | 'mounted' | 'kept'> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if ((await statfs(dir)).type === TMPFS_MAGIC) return 'tmpfs';
  if ((await readdir(dir)).length > 0) return 'kept';
  const res = await runCommand('mount', ['-t', 'tmpfs', '-o', `mode=0700,size=${options.sizeMb ?? 64}m,nosuid,nodev`, 'tmpfs', dir], {
    timeoutMs: 30_000,
  });
  if (res.code !== 0) throw new InternalError(`Cannot mount a tmpfs on "${dir}": ${res.stderr.toString().trim()}`);
  return 'mounted';
}
