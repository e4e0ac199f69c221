import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanRuntimeError } from './runtime-errors.js';
import type { RuntimeCheck } from './runtime-types.js';
import { runCommand } from '@berth/subprocess';

/**
 * Runs a throwaway container (the host's /usr read-only, `/usr/bin/true`) with the given runtime. On
 * this project's hosts crun 1.8 fails with `cgroups in hybrid mode not supported`, for which the
 * result is `{ ok: false, warning: 'crun cannot run on this host: cgroups in hybrid mode not
 * supported; falling back to runc' }`; the caller then builds a runc driver.
 */
export async function probeRuntime(runtime: 'runc' | 'crun', runtimePath: string): Promise<RuntimeCheck> {
  if (!existsSync(runtimePath)) {
    return { ok: false, runtime, warning: `${runtime} cannot run on this host: "${runtimePath}" not found` };
  }
  const dir = await mkdtemp(join(tmpdir(), 'berth-probe-'));
  const id = `berth-probe-${randomBytes(4).toString('hex')}`;
  try {
    // The host's /usr, read-only, as the whole root filesystem (merged-/usr hosts such as Debian 12).
    const rootfs = join(dir, 'rootfs');
    await mkdir(join(rootfs, 'usr'), { recursive: true });
    for (const link of ['bin', 'lib', 'lib64']) await symlink(`usr/${link}`, join(rootfs, link));
    const spec = {
      ociVersion: '1.0.2-dev',
      process: { user: { uid: 0, gid: 0 }, args: ['/usr/bin/true'], env: ['PATH=/usr/bin'], cwd: '/', noNewPrivileges: true },
      root: { path: rootfs, readonly: true },
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc' },
        { destination: '/usr', type: 'bind', source: '/usr', options: ['rbind', 'ro'] },
      ],
      linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }], cgroupsPath: `/berth/${id}` },
    };
    await writeFile(join(dir, 'config.json'), JSON.stringify(spec));
    const res = await runCommand(runtimePath, [`--root=${join(dir, 'state')}`, 'run', '--bundle', dir, id], { timeoutMs: 30_000 });
    if (res.code === 0) return { ok: true, runtime };
    const text = `${res.stderr}${res.stdout}`.trim();
    if (runtime === 'crun' && /hybrid mode not supported/.test(text)) {
      return { ok: false, runtime, warning: 'crun cannot run on this host: cgroups in hybrid mode not supported; falling back to runc' };
    }
    return { ok: false, runtime, warning: `${runtime} cannot run on this host: ${cleanRuntimeError(text)}` };
  } finally {
    // The probe container normally deleted itself (`run` without --detach); this only mops up after a failure.
    await runCommand(runtimePath, [`--root=${join(dir, 'state')}`, 'delete', '--force', id], { timeoutMs: 30_000 }).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}
