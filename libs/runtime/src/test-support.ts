/** Helpers for this library's tests (not exported from index.ts). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { runCommand } from '@berth/subprocess';
import { makeBusyboxRootfs } from './busybox-rootfs.js';
import { ConmonRuntime, type ConmonRuntimeOptions } from './conmon-runtime.js';

export interface TestRuntime {
  /** The temporary directory of everything below. */
  dir: string;
  /** A read-only busybox root filesystem to share between bundles. */
  rootfs: string;
  dirs: ConmonRuntimeOptions;
  rt: ConmonRuntime;
  /** Ids of the containers a test created: force-deleted (runc and conmon state) after it. */
  created: string[];
}

/**
 * A ConmonRuntime on a temporary directory (`berth-<name>-…`) with a busybox rootfs for the file's
 * tests: the containers each test lists in `created` are force-deleted after it, the directory after
 * all of them. Fields are set once the file's tests start.
 */
export function useTestRuntime(name: string): TestRuntime {
  const t = { created: [] as string[] } as TestRuntime;
  beforeAll(async () => {
    t.dir = await mkdtemp(join(tmpdir(), `berth-${name}-`));
    t.rootfs = join(t.dir, 'rootfs');
    await makeBusyboxRootfs(t.rootfs);
    t.dirs = { root: join(t.dir, 'state'), exitDir: join(t.dir, 'exits'), persistDir: join(t.dir, 'persist'), socketDir: join(t.dir, 'sock') };
    t.rt = new ConmonRuntime(t.dirs);
  });
  afterEach(async () => {
    for (const id of t.created.splice(0)) {
      await runCommand('/usr/sbin/runc', [`--root=${t.dirs.root}`, 'delete', '--force', id]);
      await t.rt.delete(id, { force: true }).catch(() => undefined); // runc's delete took it already
    }
  });
  afterAll(async () => {
    if (t.dir) await rm(t.dir, { recursive: true, force: true });
  });
  return t;
}
