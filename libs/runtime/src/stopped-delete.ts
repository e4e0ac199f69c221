import { readdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { initAlive, readRuncState } from './init-signal.js';

/**
 * `runc delete` of a container whose init has exited, without starting runc: what runc's
 * `destroy` does then for a container with its own pid namespace (every process went with its
 * init) and no hooks — remove its cgroups (children first, retrying while the kernel still counts
 * a departing task) and its state directory. Every container exit ran one runc process for this
 * (a fork of the whole agent each: bench/README.md, "compose down").
 *
 * @returns false when this is not such a case (init alive, a shared or joined pid namespace,
 *   hooks, an unreadable state, a cgroup that stays busy): the caller asks runc then.
 */
export async function deleteStopped(root: string, id: string): Promise<boolean> {
  const state = await readRuncState(root, id);
  if (state === 'missing' || state === 'unknown') return false;
  const pid = state.init_process_pid;
  const start = state.init_process_start;
  if (typeof pid !== 'number' || (typeof start !== 'number' && typeof start !== 'string') || (await initAlive(pid, start))) return false;
  const namespaces = state.config?.namespaces;
  const ownPidNamespace = Array.isArray(namespaces) && namespaces.some((n: { type?: unknown; path?: unknown }) => n.type === 'NEWPID' && !n.path);
  if (!ownPidNamespace || hasHooks(state.config?.Hooks) || hasHooks(state.config?.hooks)) return false;
  const paths = state.cgroup_paths;
  if (paths === null || typeof paths !== 'object') return false;
  const unique = [...new Set(Object.values(paths as Record<string, unknown>))];
  if (!unique.every((path): path is string => typeof path === 'string' && path.startsWith('/sys/fs/cgroup/'))) return false;
  // One cgroup per v1 controller (a dozen): removed side by side, each rmdir waiting in the kernel.
  if (!(await Promise.all(unique.map(removeCgroup))).every(Boolean)) return false;
  await rm(join(root, id), { recursive: true, force: true });
  return true;
}

/** Whether a runc state's config records hooks (runc runs them; the shortcuts here do not). */
export function hasHooks(hooks: unknown): boolean {
  return hooks !== null && typeof hooks === 'object' && Object.values(hooks).some((list) => Array.isArray(list) && list.length > 0);
}

/** Removes a cgroup directory and the cgroups below it; true when gone (or never there). */
async function removeCgroup(path: string): Promise<boolean> {
  let entries;
  try {
    entries = await readdir(path, { withFileTypes: true });
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
  for (const e of entries) if (e.isDirectory() && !(await removeCgroup(join(path, e.name)))) return false;
  // As runc's RemovePath: a task that has just exited may hold the cgroup for a moment (EBUSY).
  for (let attempt = 0, delay = 10; ; attempt++, delay *= 2) {
    try {
      await rmdir(path);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return true;
      if (code !== 'EBUSY' || attempt >= 4) return false;
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
