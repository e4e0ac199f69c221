import { lstat, mkdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ConmonRuntime, generateSpec, type OciMount, readLogs, resolveUser, securePath } from '@berth/runtime';
import type { TaskMount } from './worker.js';

/** The part of ConmonRuntime a task uses. */
export type TaskRuntime = Pick<ConmonRuntime, 'create' | 'start' | 'waitExit' | 'delete'>;

export interface RunTaskOptions {
  /** Container id (also the cgroup name); unique per task. */
  id: string;
  /** Directory for config.json and the log; must exist. */
  bundle: string;
  /** The mounted root filesystem. */
  rootfs: string;
  args: string[];
  env: string[];
  /** Working directory (absolute), default `/`; created when missing (as BuildKit does). */
  cwd?: string;
  /** Docker `USER` value (`app`, `1000:1000`), default root. */
  user?: string;
  /** A script to provide read-only at `path` (mode 0755), e.g. a `RUN <<EOF` body starting with `#!`. */
  script?: { path: string; content: string };
  /** Host directories and files bound in, and tmpfs (RUN --mount); missing mount points are made and removed after. */
  mounts?: TaskMount[];
  /** Use the host's network (default) or none. */
  network?: 'host' | 'none';
  /** Each chunk of output, stdout and stderr interleaved as conmon recorded them. */
  onOutput?: (text: string) => void;
  /** Kills the task. */
  signal?: AbortSignal;
}

/**
 * Runs one build step's command in a container on `rootfs` (a RUN): Docker's default confinement
 * (capabilities, seccomp, masked paths) but no `no-new-privileges`, the host's network and DNS
 * (as BuildKit's default network mode does) and hostname `buildkitsandbox`. Resolves with the exit
 * code; the runtime's state is deleted afterwards whatever happens, and the mount points made for
 * `mounts` are removed (they are not part of the layer, as with BuildKit). A command that cannot
 * be started rejects with the runtime's error (`exec: "nosuch": executable file not found in $PATH`).
 */
export async function runTask(runtime: TaskRuntime, options: RunTaskOptions): Promise<number> {
  const user = await resolveUser(options.rootfs, options.user ?? '');
  const cwd = options.cwd || '/';
  await mkdir(await securePath(options.rootfs, cwd), { recursive: true });
  const mounts: OciMount[] = [];
  // Only bind over files the image has: a mountpoint the runtime creates would end up in the layer.
  for (const file of ['/etc/resolv.conf', '/etc/hosts']) {
    const st = await lstat(await securePath(options.rootfs, file)).catch(() => undefined); // missing: undefined
    if (st?.isFile()) mounts.push({ destination: file, type: 'bind', source: file, options: ['rbind', 'ro'] });
  }
  if (options.script) {
    const file = join(options.bundle, 'script');
    await writeFile(file, options.script.content, { mode: 0o755 });
    mounts.push({ destination: options.script.path, type: 'bind', source: file, options: ['rbind', 'ro'] });
  }
  const created: MountPoint[] = [];
  try {
    for (const m of options.mounts ?? []) {
      if (m.type === 'tmpfs') {
        created.push(...(await makeMountPoint(options.rootfs, m.destination, 'dir')));
        const size = m.size ? [`size=${m.size}`] : [];
        mounts.push({ destination: m.destination, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', ...size, m.readOnly ? 'ro' : 'rw'] });
        continue;
      }
      const kind = (await lstat(m.source)).isDirectory() ? 'dir' : 'file';
      created.push(...(await makeMountPoint(options.rootfs, m.destination, kind)));
      mounts.push({ destination: m.destination, type: 'bind', source: m.source, options: ['rbind', m.readOnly ? 'ro' : 'rw'] });
    }
    const spec = generateSpec({
      id: options.id,
      rootfs: options.rootfs,
      args: options.args,
      env: options.env,
      cwd,
      user,
      hostname: 'buildkitsandbox',
      network: options.network === 'none' ? 'new' : 'host',
      noNewPrivileges: false,
      mounts,
    });
    await writeFile(join(options.bundle, 'config.json'), JSON.stringify(spec));
    return await runToExit(runtime, options);
  } finally {
    for (const point of created.reverse()) {
      // A directory that is not empty (the command wrote into the mount point itself, under the mount) stays.
      await (point.file ? rm(point.path, { force: true }) : rmdir(point.path)).catch(() => undefined);
    }
  }
}

async function runToExit(runtime: TaskRuntime, options: RunTaskOptions): Promise<number> {
  const logPath = join(options.bundle, 'step.log');
  const follow = new AbortController();
  let reading: Promise<void> | undefined;
  const kill = () => void runtime.delete(options.id, { force: true }).catch(() => undefined); // the finally below deletes it again
  try {
    options.signal?.throwIfAborted();
    await runtime.create(options.id, { bundle: options.bundle, logPath });
    reading = (async () => {
      let pending = '';
      for await (const entry of readLogs(logPath, { follow: true, signal: follow.signal, pollMs: 100 })) {
        pending += entry.line.toString('utf8');
        if (entry.partial) continue;
        options.onOutput?.(pending + '\n');
        pending = '';
      }
      if (pending) options.onOutput?.(pending);
    })().catch(() => undefined); // the log ends with the container: nothing to report
    options.signal?.addEventListener('abort', kill, { once: true });
    await runtime.start(options.id);
    return await runtime.waitExit(options.id, options.signal);
  } finally {
    options.signal?.removeEventListener('abort', kill);
    follow.abort();
    await reading;
    await runtime.delete(options.id, { force: true }).catch(() => undefined); // idempotent; a failure leaves it to the lease's collector
  }
}

interface MountPoint {
  path: string;
  file?: boolean;
}

/**
 * Creates the missing parts of `target` inside `rootfs` (directories, and an empty file last for a
 * file mount); returns those it made, outermost first.
 */
async function makeMountPoint(rootfs: string, target: string, kind: 'dir' | 'file'): Promise<MountPoint[]> {
  const made: MountPoint[] = [];
  let rel = '';
  const parts = target.split('/').filter(Boolean);
  for (const [i, part] of parts.entries()) {
    rel += `/${part}`;
    const host = await securePath(rootfs, rel);
    if (await lstat(host).catch(() => undefined)) continue; // missing: undefined
    if (kind === 'file' && i === parts.length - 1) {
      await writeFile(host, '', { mode: 0o644, flag: 'wx' });
      made.push({ path: host, file: true });
    } else {
      await mkdir(host, { mode: 0o755 });
      made.push({ path: host });
    }
  }
  return made;
}
