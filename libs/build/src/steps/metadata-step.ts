import { exposedPorts, type Instruction } from '@berth/dockerfile';
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
 * entry, and the key chained on the values it set (the config after it follows from the previous
 * key and those values). Each costs the same however many came before: the stage owns its config
 * (a base's is a copy), which is changed in place, never copied whole.
 */
export function metadataStep(run: BuildRun, state: StageState, ins: Instruction, env: StepEnv): void {
  const config: ContainerConfig = (state.config.config ??= {});
  const done = (values: readonly string[]) => {
    state.key = cacheKey(state.key, ins.kind, JSON.stringify(values));
    addHistory(state, createdByOf(ins), true);
  };
  switch (ins.kind) {
    case 'ARG': {
      const declared = state.args.declare(ins, env.vars, { escape: run.graph.dockerfile.directives.escape });
      for (const d of declared) state.env.declare(d.name, d.value);
      // The values stay out of the key: only the steps that use an ARG depend on its value.
      return done(declared.map((d) => d.name));
    }
    case 'ENV': {
      // Every value sees the environment before the instruction (`ENV a=1 b=$a` uses the previous a).
      const pairs = ins.pairs.map(([k, v]) => [env.word(k), env.word(v)] as const);
      for (const [k, v] of pairs) state.env.set(k, v);
      return done(pairs.flat());
    }
    case 'LABEL': {
      const pairs = ins.pairs.map(([k, v]) => [env.word(k), env.word(v)] as const);
      const labels = (config.Labels ??= {});
      for (const [k, v] of pairs) labels[k] = v;
      return done(pairs.flat());
    }
    case 'MAINTAINER':
      state.config.author = ins.name;
      return done([ins.name]);
    case 'EXPOSE': {
      // `8080-8081` exposes both; `53/UDP` is `53/udp` (libs/dockerfile, Docker's nat.ParsePortSpecs).
      const ports = exposedPorts(ins.ports.flatMap((p) => env.words(p)));
      const exposed = (config.ExposedPorts ??= {});
      for (const p of ports) exposed[p] = {};
      return done(ports);
    }
    case 'VOLUME': {
      const paths = ins.paths.map((p) => env.word(p)).filter((p) => p !== '');
      if (paths.length === 0) throw new InvalidArgumentError('VOLUME specified can not be an empty string');
      const volumes = (config.Volumes ??= {});
      for (const p of paths) volumes[p] = {};
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
      (config.OnBuild ??= []).push(ins.text);
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

/** Exec form as is; shell form wrapped in the shell (`/bin/sh -c "…"`). */
function commandForm(command: string[] | string, shell?: string[]): string[] {
  if (Array.isArray(command)) return [...command];
  return [...(shell?.length ? shell : DEFAULT_SHELL), command];
}
