import { lstatSync, readdirSync } from 'node:fs';
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
      const st = lstatSync(path);
      const rdev = BigInt(st.rdev);
      out.push({
        path,
        type: st.isBlockDevice() ? 'b' : 'c',
        // glibc's major()/minor() of a 64-bit dev_t.
        major: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)),
        minor: Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)),
        fileMode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
      });
    } catch {
      // Removed while we listed /dev: nothing to give.
    }
  }
  return out;
}
