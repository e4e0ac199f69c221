import { type Instruction, resolveRunCommand } from '@berth/dockerfile';
import { FailedPreconditionError } from '@berth/errors';
import { cacheKey } from '../cache/cache-key.js';
import type { StepEnv } from '../frontend/step-env.js';
import { shorten } from '../located.js';
import type { BuildRun } from '../solver/build-run.js';
import { normalizeKeyword, type StageState } from '../solver/stage-state.js';
import type { FromSources } from './from-source.js';
import { layerStep } from './layer-step.js';
import { prepareRunMounts } from './run-mounts.js';

const DEFAULT_SHELL = ['/bin/sh', '-c'];

/**
 * RUN: the command runs as a task of the host (a container on the step's snapshot, through the
 * agent), its output streamed into the step's vertex. The ARGs in scope reach it as environment
 * variables (ENV wins) and are part of its key: a RUN after `ARG V` reruns when V changes. Proxy
 * build args reach it too, but stay out of the key and the history. Its `--mount`s: run-mounts.ts.
 */
export async function runStep(
  run: BuildRun,
  state: StageState,
  ins: Extract<Instruction, { kind: 'RUN' }>,
  env: StepEnv,
  sources: FromSources,
): Promise<void> {
  const config = (state.config.config ??= {});
  const shell = config.Shell?.length ? config.Shell : DEFAULT_SHELL;
  const command = resolveRunCommand(ins, shell);
  const args = command.args;
  const visibleArgs = [...state.args.values()].filter(([k]) => !state.env.has(k)).map(([k, v]) => `${k}=${v}`);
  const proxies = [...run.args.proxyEnv()].filter(([k]) => !state.env.has(k) && !state.args.has(k)).map(([k, v]) => `${k}=${v}`);
  const prefix = visibleArgs.length > 0 ? `|${visibleArgs.length} ${visibleArgs.join(' ')} ` : '';
  const createdBy = `RUN ${prefix}${args.join(' ')} # buildkit`;
  const cwd = config.WorkingDir || '/';
  // `RUN --network` wins over the build's `--network`; BuildKit's default is the host's network here.
  const network = ins.network && ins.network !== 'default' ? ins.network : run.network;
  const prepared = await prepareRunMounts(run, state, ins.mounts, { cwd, expand: (w) => env.word(w), sources });
  try {
    // The build's network and extra hosts change what a command sees: part of the key when set.
    const buildNet = [ins.network ?? (network === 'none' ? 'none' : ''), ...run.extraHosts].filter(Boolean).join('\n');
    const key = cacheKey(state.key, 'RUN', ins.original, JSON.stringify(visibleArgs), buildNet, ...(prepared.key ? [prepared.key] : []));
    const title = normalizeKeyword(ins.original.split('\n')[0]!, 'RUN');
    await layerStep(run, state, { title, key, createdBy, mount: false }, async ({ snapshot, vertex }) => {
      const mounts = await prepared.taskMounts();
      if (run.hostsFile) mounts.push({ source: run.hostsFile, destination: '/etc/hosts', readOnly: true });
      const exitCode = await run.worker.tasks.run(
        {
          snapshot,
          lease: run.lease,
          args,
          env: [...visibleArgs, ...proxies, ...(config.Env ?? []), ...prepared.env],
          cwd,
          ...(config.User ? { user: config.User } : {}),
          network: network === 'none' ? 'none' : 'host',
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
  } finally {
    await prepared.release();
  }
}

