import { lstat, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ConmonRuntime, generateSpec, type OciMount, readLogs, resolveUser, securePath } from '@berth/runtime';

/** The part of ConmonRuntime a RUN step uses. */
export type StepRuntime = Pick<ConmonRuntime, 'create' | 'start' | 'waitExit' | 'delete'>;

export interface RunContainerOptions {
  /** Container id (also the cgroup name); unique per step. */
  id: string;
  /** Directory for config.json and the log; must exist. */
  bundle: string;
  /** The mounted root filesystem of the step. */
  rootfs: string;
  args: string[];
  env: string[];
  /** Working directory (absolute), default `/`. */
  cwd?: string;
  /** Docker `USER` value (`app`, `1000:1000`), default root. */
  user?: string;
  /** A script to provide read-only at `path` (mode 0755), e.g. a `RUN <<EOF` body starting with `#!`. */
  script?: { path: string; content: string };
  /** More mounts (RUN cache mounts), after the default ones. */
  mounts?: OciMount[];
  /** Use the host's network (default) or none. */
  network?: 'host' | 'none';
  /** Each chunk of output, stdout and stderr interleaved as conmon recorded them. */
  onOutput?: (text: string) => void;
}

/**
 * Runs one build step's command in a container on `rootfs` (a RUN): Docker's default confinement
 * (capabilities, seccomp, masked paths) but no `no-new-privileges`, the host's network and DNS
 * (as BuildKit's default network mode does) and hostname `buildkitsandbox`. Resolves with the exit
 * code; the runtime's state is deleted afterwards whatever happens. A command that cannot be
 * started rejects with the runtime's error (`exec: "nosuch": executable file not found in $PATH`).
 */
export async function runContainer(runtime: StepRuntime, options: RunContainerOptions): Promise<number> {
  const user = await resolveUser(options.rootfs, options.user ?? '');
  const cwd = options.cwd || '/';
  // The working directory must exist for the runtime to start the process (BuildKit creates it).
  await mkdir(await securePath(options.rootfs, cwd), { recursive: true });
  const mounts: OciMount[] = [];
  // Only bind over files the image has: a mountpoint the runtime creates would end up in the layer.
  for (const file of ['/etc/resolv.conf', '/etc/hosts']) {
    const st = await lstat(await securePath(options.rootfs, file)).catch(() => undefined);
    if (st?.isFile()) mounts.push({ destination: file, type: 'bind', source: file, options: ['rbind', 'ro'] });
  }
  if (options.script) {
    const file = join(options.bundle, 'script');
    await writeFile(file, options.script.content, { mode: 0o755 });
    mounts.push({ destination: options.script.path, type: 'bind', source: file, options: ['rbind', 'ro'] });
  }
  mounts.push(...(options.mounts ?? []));
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
  const logPath = join(options.bundle, 'step.log');
  const follow = new AbortController();
  let reading: Promise<void> | undefined;
  try {
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
    })().catch(() => undefined);
    await runtime.start(options.id);
    return await runtime.waitExit(options.id);
  } finally {
    follow.abort();
    await reading;
    await runtime.delete(options.id, { force: true }).catch(() => undefined);
  }
}
