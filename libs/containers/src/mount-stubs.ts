import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** The files the platform bind-mounts into every container (their content lives in the bundle). */
const STUB_FILES = ['etc/hostname', 'etc/hosts', 'etc/resolv.conf'];

/**
 * What a container's writable layer holds only because the runtime made mountpoints in it: the
 * empty `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf` stubs, and `/etc` itself when nothing
 * else in it changed (overlay copied it up to hold them; the container cannot have replaced it
 * wholesale, its mountpoints are busy). Docker keeps these in an init layer under the container's,
 * so `docker diff` and `docker commit` never show them; Berth leaves them out. Paths relative to the
 * upper dir (`etc/hosts`).
 */
export async function mountStubs(upperDir: string): Promise<string[]> {
  const stubs: string[] = [];
  for (const file of STUB_FILES) {
    if (await lstat(join(upperDir, file)).catch(() => undefined)) stubs.push(file); // no such file: undefined
  }
  if (stubs.length === 0) return stubs;
  const others = (await readdir(join(upperDir, 'etc')).catch(() => [] as string[])).filter((n) => !stubs.includes(`etc/${n}`));
  if (others.length === 0) stubs.push('etc');
  return stubs;
}
