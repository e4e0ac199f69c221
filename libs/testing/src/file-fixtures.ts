import { afterAll, beforeAll } from 'vitest';
import { startBusyboxPlatform } from './busybox-platform.js';
import { tempDir, type TempDir } from './temp-dir.js';
import { startTestPlatform, type TestPlatform, type TestPlatformOptions } from './test-platform.js';

/**
 * The one platform of an end-to-end file, as most files start: `beforeAll` starts it (with the
 * busybox image bootstrapped, startBusyboxPlatform; `busybox: false`: without, startTestPlatform)
 * and `afterAll` stops it. Call it at the top of the file; the handle it returns is that platform
 * from its `beforeAll` on, in the file's hooks and tests (before, it throws).
 */
export function platformForFile(options: TestPlatformOptions & { busybox?: boolean } = {}): TestPlatform {
  const { busybox = true, ...platformOptions } = options;
  let started: TestPlatform | undefined;
  beforeAll(async () => {
    started = busybox ? await startBusyboxPlatform(platformOptions) : await startTestPlatform(platformOptions);
  }, 180_000);
  afterAll(() => started?.stop());
  const platform = (): TestPlatform => {
    if (started === undefined) throw new Error('The platform of this file starts in its beforeAll: use it in a hook or a test');
    return started;
  };
  return {
    get settings() {
      return platform().settings;
    },
    get dataRoot() {
      return platform().dataRoot;
    },
    get env() {
      return platform().env;
    },
    get registryAuth() {
      return platform().registryAuth;
    },
    // async: before the start (it failed), `p.berth(…).catch(…)` in an afterAll gets a rejection.
    berth: async (args, berthOptions) => platform().berth(args, berthOptions),
    stop: async () => platform().stop(),
    [Symbol.asyncDispose]: async () => platform().stop(),
  };
}

/** A temporary directory for the files of a test file's tests: made now, removed by `afterAll`. */
export function tempDirForFile(prefix: string): TempDir {
  const dir = tempDir(prefix);
  afterAll(() => dir.remove());
  return dir;
}
