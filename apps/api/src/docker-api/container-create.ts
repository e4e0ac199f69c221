import { InvalidArgumentError } from '@berth/errors';
import type { ContainerMount, ContainerSpec } from '@berth/proto';

/** The parts of docker's ContainerCreateRequest (Config + HostConfig + NetworkingConfig) Berth reads. */
export interface DockerCreateBody {
  Hostname?: string;
  User?: string;
  ExposedPorts?: Record<string, object> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | string | null;
  Entrypoint?: string[] | string | null;
  Healthcheck?: { Test?: string[] | null; Interval?: number; Timeout?: number; StartPeriod?: number; StartInterval?: number; Retries?: number } | null;
  Image?: string;
  Volumes?: Record<string, object> | null;
  WorkingDir?: string;
  MacAddress?: string;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  StopTimeout?: number | null;
  HostConfig?: DockerHostConfig | null;
  NetworkingConfig?: { EndpointsConfig?: Record<string, DockerEndpoint | null> | null } | null;
}

export interface DockerEndpoint {
  Aliases?: string[] | null;
  IPAMConfig?: { IPv4Address?: string } | null;
  MacAddress?: string;
}

interface DockerMount {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  BindOptions?: { Propagation?: string } | null;
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string> | null } | null;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number } | null;
}

interface DockerHostConfig {
  Binds?: string[] | null;
  ContainerIDFile?: string;
  ConsoleSize?: [number, number] | null;
  LogConfig?: { Type?: string; Config?: Record<string, string> | null } | null;
  NetworkMode?: string;
  PortBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null;
  RestartPolicy?: { Name?: string; MaximumRetryCount?: number } | null;
  AutoRemove?: boolean;
  VolumesFrom?: string[] | null;
  Mounts?: DockerMount[] | null;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  CgroupnsMode?: string;
  Dns?: string[] | null;
  DnsOptions?: string[] | null;
  DnsSearch?: string[] | null;
  ExtraHosts?: string[] | null;
  GroupAdd?: string[] | null;
  IpcMode?: string;
  Links?: string[] | null;
  PidMode?: string;
  Privileged?: boolean;
  PublishAllPorts?: boolean;
  ReadonlyRootfs?: boolean;
  SecurityOpt?: string[] | null;
  Tmpfs?: Record<string, string> | null;
  UTSMode?: string;
  ShmSize?: number;
  Sysctls?: Record<string, string> | null;
  CpuShares?: number;
  Memory?: number;
  NanoCpus?: number;
  CpusetCpus?: string;
  MemoryReservation?: number;
  MemorySwap?: number;
  PidsLimit?: number | null;
  Ulimits?: Array<{ Name?: string; Soft?: number; Hard?: number }> | null;
  Devices?: Array<{ PathOnHost?: string; PathInContainer?: string; CgroupPermissions?: string }> | null;
  OomKillDisable?: boolean | null;
  Init?: boolean | null;
}

const list = (v: string[] | string | null | undefined): string[] => (v == null ? [] : Array.isArray(v) ? v : [v]);

/**
 * Docker's create request as Berth's ContainerSpec (the `docker run` flags' terms: the agent parses
 * and checks each value, so a bad one is refused there with the flag's message). Networks of
 * `EndpointsConfig` other than the primary one are returned to be connected after the create, as
 * dockerd does for API ≥ 1.44.
 */
/** HostConfig.ConsoleSize, `[height, width]`: the size the console of a `Tty` container starts with. */
function consoleSizeOf(size: DockerHostConfig['ConsoleSize']): ContainerSpec['consoleSize'] {
  if (size == null) return undefined;
  if (!Array.isArray(size) || size.length !== 2 || !size.every((n) => Number.isInteger(n) && n >= 0 && n <= 0xffff)) {
    throw new InvalidArgumentError('Invalid create request: "HostConfig.ConsoleSize" must be [height, width], two integers from 0 to 65535');
  }
  return size[0] && size[1] ? { rows: size[0], cols: size[1] } : undefined;
}

export function toContainerSpec(
  body: DockerCreateBody,
  options: { name: string; platform: string },
): { spec: ContainerSpec; extraNetworks: Array<{ network: string; endpoint: DockerEndpoint }> } {
  if (!body || typeof body !== 'object') throw new InvalidArgumentError('config cannot be empty in order to create a container');
  if (!body.Image) throw new InvalidArgumentError('Invalid create request: "Image" is required');
  const h = body.HostConfig ?? {};
  const networkMode = !h.NetworkMode || h.NetworkMode === 'default' ? '' : h.NetworkMode;
  const endpoints = Object.entries(body.NetworkingConfig?.EndpointsConfig ?? {});
  const primaryName = networkMode === '' ? 'bridge' : networkMode;
  const primary = endpoints.find(([n]) => n === primaryName)?.[1] ?? (endpoints.length === 1 && networkMode === '' ? endpoints[0]![1] : undefined);
  const extraNetworks = endpoints
    .filter(([n, e]) => n !== primaryName && e !== primary)
    .map(([network, endpoint]) => ({ network, endpoint: endpoint ?? {} }));

  const publish: string[] = [];
  for (const [port, bindings] of Object.entries(h.PortBindings ?? {})) {
    const [number, proto = 'tcp'] = port.split('/');
    for (const b of bindings ?? [{}]) {
      const ip = b.HostIp ?? '';
      // "0" is docker's (and testcontainers') way of asking for any free port, as "" is.
      const hostPort = b.HostPort === '0' ? '' : (b.HostPort ?? '');
      publish.push(`${ip ? `${ip.includes(':') ? `[${ip}]` : ip}:` : ''}${hostPort || ip ? `${hostPort}:` : ''}${number}/${proto}`);
    }
  }
  const mounts: ContainerMount[] = (h.Mounts ?? []).map((m) => ({
    type: m.Type ?? 'volume',
    source: m.Source ?? '',
    target: m.Target ?? '',
    readOnly: m.ReadOnly ?? false,
    bindPropagation: m.BindOptions?.Propagation ?? '',
    volumeNoCopy: m.VolumeOptions?.NoCopy ?? false,
    volumeLabels: m.VolumeOptions?.Labels ?? {},
    tmpfsSizeBytes: m.TmpfsOptions?.SizeBytes ?? 0,
    tmpfsMode: m.TmpfsOptions?.Mode ?? 0,
  }));
  const binds = [...(h.Binds ?? [])];
  // Config.Volumes: anonymous volumes (`-v /data`), unless a bind or mount already targets the path.
  const targeted = new Set([...binds.map((b) => b.split(':')[1] ?? b), ...mounts.map((m) => m.target)]);
  for (const path of Object.keys(body.Volumes ?? {})) if (!targeted.has(path)) binds.push(path);

  const entrypoint = body.Entrypoint == null ? undefined : list(body.Entrypoint);
  const hc = body.Healthcheck;
  const spec: ContainerSpec = {
    image: body.Image,
    name: options.name,
    cmd: list(body.Cmd),
    entrypoint: entrypoint === undefined ? undefined : { args: entrypoint.length === 1 && entrypoint[0] === '' ? [] : entrypoint },
    env: body.Env ?? [],
    workingDir: body.WorkingDir ?? '',
    user: body.User ?? '',
    hostname: body.Hostname ?? '',
    labels: body.Labels ?? {},
    tty: body.Tty ?? false,
    openStdin: body.OpenStdin ?? false,
    stdinOnce: body.StdinOnce ?? false,
    autoRemove: h.AutoRemove ?? false,
    init: h.Init ?? false,
    restartPolicy: { name: h.RestartPolicy?.Name || 'no', maximumRetryCount: h.RestartPolicy?.MaximumRetryCount ?? 0 },
    resources: {
      memory: h.Memory ?? 0,
      nanoCpus: h.NanoCpus ?? 0,
      pidsLimit: h.PidsLimit != null && h.PidsLimit > 0 ? h.PidsLimit : 0,
      memorySwap: h.MemorySwap ?? 0,
      memoryReservation: h.MemoryReservation ?? 0,
      cpuShares: h.CpuShares ?? 0,
      cpusetCpus: h.CpusetCpus ?? '',
      oomKillDisable: h.OomKillDisable ?? false,
      ulimits: (h.Ulimits ?? []).map((u) => ({ name: u.Name ?? '', soft: u.Soft ?? 0, hard: u.Hard ?? 0 })),
      devices: (h.Devices ?? []).map((d) => ({ pathOnHost: d.PathOnHost ?? '', pathInContainer: d.PathInContainer ?? '', cgroupPermissions: d.CgroupPermissions ?? '' })),
    },
    stopSignal: body.StopSignal ?? '',
    stopTimeout: body.StopTimeout ?? undefined,
    networkMode,
    publish,
    publishAll: h.PublishAllPorts ?? false,
    networkAliases: primary?.Aliases ?? [],
    dns: h.Dns ?? [],
    dnsSearch: h.DnsSearch ?? [],
    dnsOptions: h.DnsOptions ?? [],
    extraHosts: h.ExtraHosts ?? [],
    ipv4Address: primary?.IPAMConfig?.IPv4Address ?? '',
    macAddress: body.MacAddress ?? primary?.MacAddress ?? '',
    expose: Object.keys(body.ExposedPorts ?? {}),
    binds,
    mounts,
    tmpfs: h.Tmpfs ?? {},
    volumesFrom: h.VolumesFrom ?? [],
    healthcheck: hc
      ? {
          test: hc.Test ?? [],
          intervalNs: hc.Interval ?? 0,
          timeoutNs: hc.Timeout ?? 0,
          startPeriodNs: hc.StartPeriod ?? 0,
          startIntervalNs: hc.StartInterval ?? 0,
          retries: hc.Retries ?? 0,
        }
      : undefined,
    security: {
      privileged: h.Privileged ?? false,
      capAdd: h.CapAdd ?? [],
      capDrop: h.CapDrop ?? [],
      readOnly: h.ReadonlyRootfs ?? false,
      securityOpt: h.SecurityOpt ?? [],
    },
    shmSize: h.ShmSize ?? 0,
    sysctls: h.Sysctls ?? {},
    ipcMode: h.IpcMode ?? '',
    pidMode: h.PidMode ?? '',
    utsMode: h.UTSMode ?? '',
    cgroupnsMode: h.CgroupnsMode ?? '',
    groupAdd: h.GroupAdd ?? [],
    links: h.Links ?? [],
    logConfig: h.LogConfig?.Type ? { type: h.LogConfig.Type, config: h.LogConfig.Config ?? {} } : undefined,
    platform: options.platform,
    containerIdFile: h.ContainerIDFile ?? '',
    consoleSize: consoleSizeOf(h.ConsoleSize),
    attach: [],
  };
  return { spec, extraNetworks };
}
