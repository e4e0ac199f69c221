import type { Instruction } from '@berth/dockerfile';
import { InvalidArgumentError } from '@berth/errors';
import type { ContainerConfig } from '@berth/oci';
import { cacheKey } from '../cache/cache-key.js';
import type { StepEnv } from '../frontend/step-env.js';
import type { BuildRun } from '../solver/build-run.js';
import { addHistory, createdByOf, type StageState } from '../solver/stage-state.js';

const DEFAULT_SHELL = ['/bin/sh', '-c'];

/**
 * A step that only changes the image config (ARG, ENV, LABEL, MAINTAINER, EXPOSE, VOLUME, USER,
 * STOPSIGNAL, SHELL, ONBUILD, HEALTHCHECK, CMD, ENTRYPOINT): no vertex, an empty-layer history
 * entry, and the key chained on the values it set and the config after it.
 */
export function metadataStep(run: BuildRun, state: StageState, ins: Instruction, env: StepEnv): void {
  const config: ContainerConfig = (state.config.config ??= {});
  const done = (values: readonly string[]) => {
    state.key = cacheKey(state.key, ins.kind, JSON.stringify(values), JSON.stringify(state.config.config ?? {}));
    addHistory(state, createdByOf(ins), true);
  };
  switch (ins.kind) {
    case 'ARG': {
      const declared = state.args.declare(ins, env.vars, { escape: run.graph.dockerfile.directives.escape });
      // The values stay out of the key: only the steps that use an ARG depend on its value.
      return done(declared.map((d) => d.name));
    }
    case 'ENV': {
      const pairs = ins.pairs.map(([k, v]) => [env.word(k), env.word(v)] as const);
      for (const [k, v] of pairs) config.Env = setEnv(config.Env ?? [], k, v);
      return done(pairs.flat());
    }
    case 'LABEL': {
      const pairs = ins.pairs.map(([k, v]) => [env.word(k), env.word(v)] as const);
      config.Labels = { ...(config.Labels ?? {}) };
      for (const [k, v] of pairs) config.Labels[k] = v;
      return done(pairs.flat());
    }
    case 'MAINTAINER':
      state.config.author = ins.name;
      return done([ins.name]);
    case 'EXPOSE': {
      const ports = ins.ports.flatMap((p) => env.words(p)).map((p) => (p.includes('/') ? p.toLowerCase() : `${p}/tcp`));
      config.ExposedPorts = { ...(config.ExposedPorts ?? {}) };
      for (const p of ports) config.ExposedPorts[p] = {};
      return done(ports);
    }
    case 'VOLUME': {
      const paths = ins.paths.map((p) => env.word(p)).filter((p) => p !== '');
      if (paths.length === 0) throw new InvalidArgumentError('VOLUME specified can not be an empty string');
      config.Volumes = { ...(config.Volumes ?? {}) };
      for (const p of paths) config.Volumes[p] = {};
      return done(paths);
    }
    case 'USER':
      config.User = env.word(ins.user);
      return done([config.User]);
    case 'STOPSIGNAL':
      config.StopSignal = env.word(ins.signal);
      return done([config.StopSignal]);
    case 'SHELL':
      config.Shell = [...ins.shell];
      return done(ins.shell);
    case 'ONBUILD':
      config.OnBuild = [...(config.OnBuild ?? []), ins.text];
      return done([ins.text]);
    case 'HEALTHCHECK': {
      const hc: NonNullable<ContainerConfig['Healthcheck']> = { Test: [...ins.test] };
      if (ins.interval !== undefined) hc.Interval = ins.interval;
      if (ins.timeout !== undefined) hc.Timeout = ins.timeout;
      if (ins.startPeriod !== undefined) hc.StartPeriod = ins.startPeriod;
      if (ins.startInterval !== undefined) (hc as Record<string, unknown>).StartInterval = ins.startInterval;
      if (ins.retries !== undefined) hc.Retries = ins.retries;
      config.Healthcheck = hc;
      return done([JSON.stringify(hc)]);
    }
    case 'CMD':
      config.Cmd = commandForm(ins.command, config.Shell);
      state.cmdSet = true;
      return done(config.Cmd);
    case 'ENTRYPOINT':
      config.Entrypoint = commandForm(ins.command, config.Shell);
      if (!state.cmdSet) delete config.Cmd;
      return done(config.Entrypoint);
    default:
      throw new InvalidArgumentError(`${ins.kind} cannot be used here`);
  }
}

function setEnv(env: string[], key: string, value: string): string[] {
  const out = env.filter((e) => e.split('=')[0] !== key);
  out.push(`${key}=${value}`);
  return out;
}

/** Exec form as is; shell form wrapped in the shell (`/bin/sh -c "…"`). */
function commandForm(command: string[] | string, shell?: string[]): string[] {
  if (Array.isArray(command)) return [...command];
  return [...(shell?.length ? shell : DEFAULT_SHELL), command];
}
