import { InvalidArgumentError } from '@berth/errors';
import type { ImageConfigLike } from './dependencies.js';
import { mergeHealthcheck } from './health-config.js';
import type { ContainerConfig, CreateOptions, HostConfig, RestartPolicy } from './types.js';

/** The image config fields a container config is merged from. */
export type ImageContainerConfig = NonNullable<ImageConfigLike['config']>;

/** Image config + create options → Docker's ContainerConfig (Docker's merge rules). */
export function mergeConfig(options: CreateOptions, image: ImageContainerConfig, hostname: string): ContainerConfig {
  const healthcheck = mergeHealthcheck(options.healthcheck, image.Healthcheck);
  const userCmd = options.cmd ?? [];
  let entrypoint: string[] | null;
  let cmd: string[] | null;
  if (options.entrypoint !== undefined) {
    const reset = options.entrypoint.length === 0 || (options.entrypoint.length === 1 && options.entrypoint[0] === '');
    entrypoint = reset ? null : options.entrypoint;
    cmd = userCmd.length > 0 ? userCmd : null;
  } else {
    entrypoint = image.Entrypoint ?? null;
    cmd = userCmd.length > 0 ? userCmd : (image.Cmd ?? null);
  }
  return {
    Hostname: hostname,
    Domainname: options.domainname ?? '',
    User: options.user ?? image.User ?? '',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    ...(image.ExposedPorts ? { ExposedPorts: emptyObjects(image.ExposedPorts) } : {}),
    Tty: options.tty ?? false,
    OpenStdin: options.openStdin ?? false,
    StdinOnce: options.stdinOnce ?? false,
    Env: mergeEnv(image.Env ?? [], options.env ?? []),
    Cmd: cmd,
    Image: options.image,
    ...(image.Volumes ? { Volumes: emptyObjects(image.Volumes) } : {}),
    WorkingDir: options.workingDir ?? image.WorkingDir ?? '',
    Entrypoint: entrypoint,
    OnBuild: image.OnBuild ?? null,
    Labels: { ...(image.Labels ?? {}), ...(options.labels ?? {}) },
    ...(options.stopSignal || image.StopSignal ? { StopSignal: options.stopSignal || image.StopSignal } : {}),
    ...(options.stopTimeout !== undefined ? { StopTimeout: options.stopTimeout } : {}),
    ...(healthcheck ? { Healthcheck: healthcheck } : {}),
    ...(image.Shell && image.Shell.length > 0 ? { Shell: [...image.Shell] } : {}),
  };
}

/** `KEY=value` lists: later entries replace earlier ones by key; a bare `KEY` removes it. */
export function mergeEnv(base: string[], overrides: string[]): string[] {
  const env = new Map<string, string>();
  for (const entry of [...base, ...overrides]) {
    const eq = entry.indexOf('=');
    if (eq < 0) env.delete(entry);
    else env.set(entry.slice(0, eq), entry);
  }
  return [...env.values()];
}

/** The create options' HostConfig (`NetworkMode` from the network part, the policy already checked). */
export function hostConfigOf(options: CreateOptions, settled: { networkMode: string; restartPolicy: RestartPolicy }): HostConfig {
  return {
    NetworkMode: settled.networkMode,
    RestartPolicy: settled.restartPolicy,
    AutoRemove: options.autoRemove ?? false,
    Init: options.init ?? false,
    Memory: options.resources?.memory ?? 0,
    NanoCpus: options.resources?.nanoCpus ?? 0,
    PidsLimit: options.resources?.pidsLimit ?? null,
    LogConfig: { Type: 'k8s-file', Config: {} },
    Binds: options.binds?.length ? options.binds : null,
    Mounts: options.mounts ?? [],
    Tmpfs: options.tmpfs ?? {},
    VolumesFrom: options.volumesFrom?.length ? options.volumesFrom : null,
    Privileged: options.privileged ?? false,
    CapAdd: options.capAdd?.length ? options.capAdd : null,
    CapDrop: options.capDrop?.length ? options.capDrop : null,
    ReadonlyRootfs: options.readonlyRootfs ?? false,
    SecurityOpt: options.securityOpt?.length ? options.securityOpt : null,
  };
}

/** Docker's restart policy checks, with its messages; `--rm` with a policy is refused too. */
export function checkRestartPolicy(options: Pick<CreateOptions, 'autoRemove' | 'restartPolicy'>): RestartPolicy {
  const policy = options.restartPolicy;
  if (options.autoRemove && policy && policy.name !== '' && policy.name !== 'no') {
    throw new InvalidArgumentError("can't create 'AutoRemove' container with restart policy");
  }
  const name = policy?.name || 'no';
  const max = policy?.maximumRetryCount ?? 0;
  if (!['no', 'always', 'unless-stopped', 'on-failure'].includes(name)) {
    throw new InvalidArgumentError(`invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
  if (max < 0) throw new InvalidArgumentError(`invalid restart policy: maximum retry count can't be negative`);
  if (max > 0 && name !== 'on-failure') {
    throw new InvalidArgumentError(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
  }
  return { Name: name, MaximumRetryCount: max };
}

function emptyObjects(keys: Record<string, object>): Record<string, Record<string, never>> {
  return Object.fromEntries(Object.keys(keys).map((k) => [k, {}]));
}
