import { lchown, mkdir } from 'node:fs/promises';
import { posix } from 'node:path';
import { resolveUser, securePath } from '@berth/runtime';
import { cacheKey } from '../cache/cache-key.js';
import type { StepEnv } from '../frontend/step-env.js';
import type { BuildRun } from '../solver/build-run.js';
import type { StageState } from '../solver/stage-state.js';
import { layerStep } from './layer-step.js';

/** WORKDIR: sets the working directory and creates it (owned by USER), a layer only when it was missing. */
export async function workdirStep(run: BuildRun, state: StageState, raw: string, env: StepEnv): Promise<void> {
  const config = (state.config.config ??= {});
  const path = posix.resolve(config.WorkingDir || '/', env.word(raw));
  config.WorkingDir = path;
  const user = config.User ?? '';
  const key = cacheKey(state.key, 'WORKDIR', path, user);
  const step = { title: `WORKDIR ${path}`, key, createdBy: `WORKDIR ${path}`, optionalLayer: true, mount: true };
  await layerStep(run, state, step, async ({ rootfs }) => {
    const host = await securePath(rootfs, path);
    await mkdir(host, { recursive: true });
    if (user) {
      const { uid, gid } = await resolveUser(rootfs, user);
      await lchown(host, uid, gid);
    }
  });
}
