import type { Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { OVERLAY_OPAQUE_XATTR } from './apply-layer.js';
import { readXattrsRecursive } from './fs-commands.js';

export interface Change {
  /** A: added (in no lower), C: changed (exists in a lower), D: deleted (whited out). */
  kind: 'A' | 'C' | 'D';
  /** Absolute path inside the container, as `docker diff` prints it: "/etc/passwd". */
  path: string;
}

async function lstatOrNull(path: string): Promise<Stats | null> {
  try {
    return await lstat(path);
  } catch {
    return null;
  }
}

const isWhiteoutDevice = (st: Stats) => st.isCharacterDevice() && st.rdev === 0;

/**
 * The changes an overlay upper dir makes over its lowers (top-most first, overlay lowerdir order),
 * like `docker diff`: every path in `upperDir` is A or C — so the parent directories of a changed
 * file show up as C, since overlay copies them up — whiteouts are D, and an opaque directory that
 * hides a lower one reports the lower children it hides as D. Sorted by path.
 *
 * Approximation: a path counts as present below when the first lower that has something at that
 * path has a non-whiteout there; opaque directories inside the lowers themselves are not consulted.
 */
export async function listChanges(upperDir: string, lowerDirs: string[]): Promise<Change[]> {
  const opaque = await readXattrsRecursive(upperDir, `^${OVERLAY_OPAQUE_XATTR.replace(/\./g, '\\.')}$`);
  const changes: Change[] = [];

  const inLowers = async (rel: string): Promise<boolean> => {
    for (const lower of lowerDirs) {
      const st = await lstatOrNull(join(lower, rel));
      if (st) return !isWhiteoutDevice(st);
    }
    return false;
  };

  const walk = async (rel: string, parentAdded: boolean): Promise<void> => {
    const names = await readdir(join(upperDir, rel));
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const st = await lstat(join(upperDir, path));
      if (isWhiteoutDevice(st)) {
        changes.push({ kind: 'D', path: `/${path}` });
        continue;
      }
      const existed = !parentAdded && (await inLowers(path));
      changes.push({ kind: existed ? 'C' : 'A', path: `/${path}` });
      if (!st.isDirectory()) continue;
      const isOpaque = opaque.get(join(upperDir, path))?.get(OVERLAY_OPAQUE_XATTR)?.toString() === 'y';
      if (existed && isOpaque) {
        const hidden = new Set<string>();
        for (const lower of lowerDirs) {
          const entries = await readdir(join(lower, path)).catch(() => [] as string[]);
          for (const entry of entries) hidden.add(entry);
        }
        const upperNames = new Set(await readdir(join(upperDir, path)));
        for (const entry of hidden) if (!upperNames.has(entry)) changes.push({ kind: 'D', path: `/${path}/${entry}` });
      }
      await walk(path, !existed);
    }
  };

  await walk('', false);
  return changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
