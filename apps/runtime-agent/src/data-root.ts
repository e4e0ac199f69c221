import { chmod, lstat, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FailedPreconditionError } from '@berth/errors';

/**
 * Who may reach what under the data root and the run root (issue 8 §3, the class of CVE-2021-41091:
 * a local user who can reach an unpacked layer runs its setuid-root binaries; one who can read a
 * container's config.json or the metadata database reads its `-e` secrets).
 *
 *   <dataRoot>/                 0711  traversable (the run root may live below it), not listable
 *   <dataRoot>/<dir>/           0700  every directory: content, snapshots, containers, volumes,
 *                                     builder, and the platform's nats, registry, logs, ...
 *   <dataRoot>/<file>           0600  metadata.db (+ -wal, -shm), host-id, platform.json, ...
 *   <runRoot>/                  0711  so a socket below it can be opened by a group it is given to
 *   <runRoot>/<dir>/            0700  runc state, conmon exits/persist/sockets, pid files
 *   <runRoot>/<socket>                left as its server made it (gRPC sockets: see docs/security.md)
 *
 * Docker's equivalent: /var/lib/docker 0710 root:root, containers and image layers 0700. Only the
 * top level is walked: what is inside an unpacked layer or a volume belongs to the image or the
 * user and keeps its modes; the closed parent is what keeps other users out. Container processes
 * are not affected: runc (as root) mounts the rootfs, volumes and bind mounts, and a container
 * process sees only the mounts' own modes, never their host ancestors.
 */
export const DATA_ROOT_MODE = 0o711;
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/**
 * The data root's top-level directories, made 0700 before anything writes into them: the agent's
 * own, and those the platform's other services (compose/platform/compose.yaml) make when they start, maybe
 * after the agent did (a directory made later would otherwise get the default 0755).
 */
export const DATA_ROOT_DIRS = ['content', 'snapshots', 'containers', 'volumes', 'builder', 'nats', 'registry', 'logs'];

/** What `secureDataRoot` changed, for the agent's log. */
export interface SecuredReport {
  changed: Array<{ path: string; from: number; to: number }>;
}

/**
 * Creates the data root and the run root if needed and closes them to other users (see the table
 * above): existing installations made with 0755 directories and 0644 files are fixed. Idempotent.
 */
export async function secureDataRoot(dataRoot: string, runRoot: string): Promise<SecuredReport> {
  const report: SecuredReport = { changed: [] };
  await mkdir(dataRoot, { recursive: true, mode: DATA_ROOT_MODE });
  await mkdir(runRoot, { recursive: true, mode: DATA_ROOT_MODE });
  await refuseShared(dataRoot, 'data root');
  await refuseShared(runRoot, 'run root');
  for (const name of DATA_ROOT_DIRS) await mkdir(join(dataRoot, name), { recursive: true, mode: PRIVATE_DIR_MODE });
  await setMode(dataRoot, DATA_ROOT_MODE, report);
  await setMode(runRoot, DATA_ROOT_MODE, report);
  await closeEntries(dataRoot, { keepOpen: runRoot, report });
  await closeEntries(runRoot, { report });
  return report;
}

/** Directories below `dir` → 0700, regular files → 0600; sockets, links and `keepOpen` untouched. */
async function closeEntries(dir: string, options: { keepOpen?: string; report: SecuredReport }): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (path === options.keepOpen) continue;
    if (entry.isDirectory()) await setMode(path, PRIVATE_DIR_MODE, options.report);
    else if (entry.isFile()) await setMode(path, PRIVATE_FILE_MODE, options.report);
  }
}

async function setMode(path: string, mode: number, report: SecuredReport): Promise<void> {
  let current: number;
  try {
    current = (await lstat(path)).mode & 0o7777;
  } catch (err) {
    // Removed between readdir and here (a temp file of a service that is running): nothing to close.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (current === mode) return;
  await chmod(path, mode);
  report.changed.push({ path, from: current, to: mode });
}

/** `/` or a shared temp directory (world-writable, sticky) must never be chmod'ed to 0711. */
async function refuseShared(root: string, what: string): Promise<void> {
  const mode = (await lstat(root)).mode;
  if (root === '/' || ((mode & 0o1000) !== 0 && (mode & 0o002) !== 0)) {
    throw new FailedPreconditionError(`Cannot use "${root}" as the ${what}: it is shared with other users (give Berth a directory of its own)`);
  }
}
