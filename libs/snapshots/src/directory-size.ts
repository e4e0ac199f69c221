import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Docker's measure of a layer or volume (moby pkg/directory.Size): the apparent size of every file,
 * symlink and device below `dir`, directories not counted, a file with several names once. What
 * `ps -s` (SIZE), `system df` and prune's "reclaimed space" report. A missing `dir` is 0; entries
 * that vanish while walking are skipped.
 */
export async function directorySize(dir: string): Promise<number> {
  const seen = new Set<number>();
  let total = 0;
  const walk = async (path: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(path);
    } catch {
      return; // gone, or not a directory any more: nothing to count
    }
    for (const name of names) {
      const child = join(path, name);
      const st = await lstat(child).catch(() => undefined); // removed while counted: not counted
      if (st === undefined) continue;
      if (st.isDirectory()) {
        await walk(child);
        continue;
      }
      if (st.size === 0 || seen.has(st.ino)) continue;
      seen.add(st.ino);
      total += st.size;
    }
  };
  await walk(dir);
  return total;
}
