import { lstatSync, readdirSync, statSync, type Stats } from 'node:fs';
import { InvalidArgumentError } from '@berth/errors';
import { join } from 'node:path';
import type { OciSpec } from './oci-spec.js';

/** One device node the runtime creates in the container's /dev. */
export type OciDevice = NonNullable<OciSpec['linux']['devices']>[number];

/** Directories of /dev that hold no device of the host's own (containerd `getDevices`). */
const skippedDirs = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);

/**
 * Every character and block device under `dir` (default /dev), as a privileged container gets them
 * (containerd `HostDevices`): symlinks, fifos, sockets, `console` and the pts/shm/fd/mqueue
 * directories are skipped; a device that vanishes while listed is skipped too.
 */
export function hostDevices(dir = '/dev'): OciDevice[] {
  const out: OciDevice[] = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!skippedDirs.has(entry.name)) out.push(...hostDevices(path));
      continue;
    }
    if (entry.name === 'console' || !(entry.isCharacterDevice() || entry.isBlockDevice())) continue;
    try {
      out.push(nodeOf(path, lstatSync(path)));
    } catch {
      // Removed while we listed /dev: nothing to give.
    }
  }
  return out;
}

function nodeOf(path: string, st: Stats): OciDevice {
  const rdev = BigInt(st.rdev);
  return {
    path,
    type: st.isBlockDevice() ? 'b' : 'c',
    // glibc's major()/minor() of a 64-bit dev_t.
    major: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)),
    minor: Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)),
    fileMode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
  };
}

/**
 * The device nodes `--device HOST[:CONTAINER]` gives (moby `devicesFromPath`): the node `hostPath`
 * names (symlinks followed, as Docker does), or every device below it when it is a directory, each
 * placed at the same relative path under `containerPath`. InvalidArgumentError with Docker's text
 * when the path is missing or not a device.
 */
export function deviceNodes(hostPath: string, containerPath: string): OciDevice[] {
  let st;
  try {
    st = statSync(hostPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file or directory' : (err as Error).message;
    throw new InvalidArgumentError(`error gathering device information while adding custom device "${hostPath}": ${reason}`, { code: 'NO_SUCH_DEVICE' });
  }
  if (st.isDirectory()) {
    return hostDevices(hostPath).map((d) => ({ ...d, path: containerPath + d.path.slice(hostPath.replace(/\/+$/, '').length) }));
  }
  if (!st.isCharacterDevice() && !st.isBlockDevice()) {
    throw new InvalidArgumentError(`error gathering device information while adding custom device "${hostPath}": not a device node`, { code: 'NO_SUCH_DEVICE' });
  }
  return [{ ...nodeOf(containerPath, st) }];
}
