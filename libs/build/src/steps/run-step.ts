import { type Instruction, resolveRunCommand } from '@berth/dockerfile';
import { FailedPreconditionError, InvalidArgumentError } from '@berth/errors';
import { cacheKey } from '../cache/cache-key.js';
import type { StepEnv } from '../frontend/step-env.js';
import { shorten } from '../located.js';
import type { BuildRun } from '../solver/build-run.js';
import { normalizeKeyword, type StageState } from '../solver/stage-state.js';
import { prepareCacheMounts } from './cache-mounts.js';
import { layerStep } from './layer-step.js';

const DEFAULT_SHELL = ['/bin/sh', '-c'];

/**
 * RUN: the command runs as a task of the host (a container on the step's snapshot, through the
 * agent), its output streamed into the step's vertex. The ARGs in scope reach it as environment
 * variables (ENV wins) and are part of its key: a RUN after `ARG V` reruns when V changes. Proxy
 * build args reach it too, but stay out of the key and the history.
 */
export async function runStep(run: BuildRun, state: StageState, ins: Extract<Instruction, { kind: 'RUN' }>, env: StepEnv): Promise<void> {
  const config = (state.config.config ??= {});
  // Cache mounts are persistent directories of this host; the other types change what the
  // command sees and are refused rather than silently ignored.
  const unsupported = ins.mounts.find((m) => m.type !== 'cache');
  if (unsupported) throw new InvalidArgumentError(`RUN --mount=type=${unsupported.type} is not supported yet`);
  const shell = config.Shell?.length ? config.Shell : DEFAULT_SHELL;
  const command = resolveRunCommand(ins, shell);
  const args = command.args;
  const visibleArgs = [...state.args.values()].filter(([k]) => !state.env.has(k)).map(([k, v]) => `${k}=${v}`);
  const proxies = [...run.args.proxyEnv()].filter(([k]) => !state.env.has(k) && !state.args.has(k)).map(([k, v]) => `${k}=${v}`);
  const prefix = visibleArgs.length > 0 ? `|${visibleArgs.length} ${visibleArgs.join(' ')} ` : '';
  const createdBy = `RUN ${prefix}${args.join(' ')} # buildkit`;
  const key = cacheKey(state.key, 'RUN', ins.original, JSON.stringify(visibleArgs), ins.network ?? '');
  const title = normalizeKeyword(ins.original.split('\n')[0]!, 'RUN');
  const cwd = config.WorkingDir || '/';
  await layerStep(run, state, { title, key, createdBy, mount: false }, async ({ snapshot, vertex }) => {
    const mounts = await prepareCacheMounts(run.cacheMountsDir, ins.mounts, { cwd, expand: (w) => env.word(w) });
    const exitCode = await run.worker.tasks.run(
      {
        snapshot,
        lease: run.lease,
        args,
        env: [...visibleArgs, ...proxies, ...(config.Env ?? [])],
        cwd,
        ...(config.User ? { user: config.User } : {}),
        network: ins.network === 'none' ? 'none' : 'host',
        mounts,
        ...(command.script ? { script: command.script } : {}),
      },
      { onOutput: (text) => vertex.output(text), ...(run.signal ? { signal: run.signal } : {}) },
    );
    if (exitCode !== 0) {
      throw new FailedPreconditionError(`process "${shorten(args.join(' '))}" did not complete successfully: exit code: ${exitCode}`, {
        code: 'BUILD_STEP_FAILED',
        detail: { exitCode },
      });
    }
  });
}

