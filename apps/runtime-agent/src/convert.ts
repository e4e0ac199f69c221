/**
 * proto ⇄ domain conversions for the runtime agent, in one place (the gRPC messages of
 * proto/berth/v1 on one side, the types of @berth/containers and @berth/images on the other).
 */
import { availableParallelism } from 'node:os';
import type { ContainerSummary as DomainSummary, CreateOptions, HealthConfig, MountOption, ResourceOptions, RestartPolicyName } from '@berth/containers';
import { InvalidArgumentError } from '@berth/errors';
import type { ContainerMount, ContainerSpec, ContainerSummary, Filter, HealthConfig as HealthProto, Resources } from '@berth/proto';

const restartPolicies = new Set(['', 'no', 'always', 'unless-stopped', 'on-failure']);

/**
 * The daemon's checks of a new container's settings (daemon/container.go, daemon_unix.go), at
 * create as there, so that a container that could never start is not created: `--cpus -1` or more
 * CPUs than this host has, `-m 1`, `-w relative`.
 */
function checkSettings(spec: ContainerSpec): void {
  const nanoCpus = spec.resources?.nanoCpus ?? 0;
  const ncpu = availableParallelism();
  if (nanoCpus < 0 || nanoCpus > ncpu * 1e9) {
    throw new InvalidArgumentError(`Range of CPUs is from 0.01 to ${ncpu}.00, as there are only ${ncpu} CPUs available`);
  }
  const memory = spec.resources?.memory ?? 0;
  if (memory !== 0 && memory < 6 * 1024 * 1024) throw new InvalidArgumentError('Minimum memory limit allowed is 6MB');
  if (spec.workingDir && !spec.workingDir.startsWith('/')) {
    throw new InvalidArgumentError(`the working directory '${spec.workingDir}' is invalid, it needs to be an absolute path`);
  }
}

export function createOptionsFromSpec(spec: ContainerSpec): CreateOptions {
  const policy = spec.restartPolicy?.name ?? '';
  if (!restartPolicies.has(policy)) {
    throw new InvalidArgumentError(`invalid restart policy "${policy}": expected no, always, unless-stopped or on-failure[:max-retries]`);
  }
  if (policy !== 'on-failure' && (spec.restartPolicy?.maximumRetryCount ?? 0) > 0) {
    throw new InvalidArgumentError(`invalid restart policy "${policy}": maximum retry count can only be used with on-failure`);
  }
  checkSettings(spec);
  return {
    image: spec.image,
    name: spec.name || undefined,
    cmd: spec.cmd.length > 0 ? spec.cmd : undefined,
    entrypoint: spec.entrypoint ? spec.entrypoint.args : undefined,
    env: spec.env,
    workingDir: spec.workingDir || undefined,
    user: spec.user || undefined,
    hostname: spec.hostname || undefined,
    labels: spec.labels,
    tty: spec.tty,
    openStdin: spec.openStdin,
    stdinOnce: spec.stdinOnce,
    autoRemove: spec.autoRemove,
    init: spec.init,
    restartPolicy: { name: policy as RestartPolicyName | '', maximumRetryCount: spec.restartPolicy?.maximumRetryCount ?? 0 },
    resources: resourcesFromProto(spec.resources),
    stopSignal: spec.stopSignal || undefined,
    stopTimeout: spec.stopTimeout,
    binds: spec.binds,
    mounts: spec.mounts.map(mountFromProto),
    tmpfs: spec.tmpfs,
    volumesFrom: spec.volumesFrom,
    network: {
      mode: spec.networkMode || undefined,
      publish: spec.publish,
      publishAll: spec.publishAll,
      expose: spec.expose,
      aliases: spec.networkAliases,
      dns: spec.dns,
      dnsSearch: spec.dnsSearch,
      dnsOptions: spec.dnsOptions,
      extraHosts: spec.extraHosts,
      ipv4Address: spec.ipv4Address || undefined,
      macAddress: spec.macAddress || undefined,
    },
    healthcheck: spec.healthcheck ? healthFromProto(spec.healthcheck) : undefined,
    privileged: spec.security?.privileged ?? false,
    capAdd: spec.security?.capAdd ?? [],
    capDrop: spec.security?.capDrop ?? [],
    readonlyRootfs: spec.security?.readOnly ?? false,
    securityOpt: spec.security?.securityOpt ?? [],
    ...hostOptionsFromProto(spec),
  };
}

/** Docker's HostConfig resources (0 / empty = not set). */
export function resourcesFromProto(r: Resources | undefined): ResourceOptions {
  if (!r) return {};
  return {
    memory: r.memory || undefined,
    nanoCpus: r.nanoCpus || undefined,
    pidsLimit: r.pidsLimit || undefined,
    memorySwap: r.memorySwap || undefined,
    memoryReservation: r.memoryReservation || undefined,
    cpuShares: r.cpuShares || undefined,
    cpusetCpus: r.cpusetCpus || undefined,
    oomKillDisable: r.oomKillDisable || undefined,
    ulimits: r.ulimits.map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })),
    devices: r.devices.map((d) => ({
      PathOnHost: d.pathOnHost,
      PathInContainer: d.pathInContainer || d.pathOnHost,
      CgroupPermissions: d.cgroupPermissions || 'rwm',
    })),
  };
}

const attachStreams = new Set(['stdin', 'stdout', 'stderr']);

/** Namespaces, kernel settings, links, logging and the rest of Docker's HostConfig from the spec. */
function hostOptionsFromProto(spec: ContainerSpec): Partial<CreateOptions> {
  for (const stream of spec.attach) {
    if (!attachStreams.has(stream)) throw new InvalidArgumentError(`Invalid attach stream "${stream}": valid streams are STDIN, STDOUT and STDERR`);
  }
  return {
    shmSize: spec.shmSize || undefined,
    sysctls: spec.sysctls,
    ipcMode: spec.ipcMode || undefined,
    pidMode: spec.pidMode || undefined,
    utsMode: spec.utsMode || undefined,
    cgroupnsMode: spec.cgroupnsMode || undefined,
    groupAdd: spec.groupAdd,
    links: spec.links,
    ...(spec.logConfig ? { logConfig: { Type: spec.logConfig.type || 'json-file', Config: spec.logConfig.config } } : {}),
    containerIdFile: spec.containerIdFile || undefined,
    consoleSize: spec.consoleSize?.rows && spec.consoleSize.cols ? { height: spec.consoleSize.rows, width: spec.consoleSize.cols } : undefined,
    attach: spec.attach as CreateOptions['attach'],
    platform: spec.platform || undefined,
  };
}

/** Docker's HealthConfig (nanoseconds), zero fields left out as Docker's JSON does. */
export function healthFromProto(h: HealthProto): HealthConfig {
  return {
    ...(h.test.length > 0 ? { Test: h.test } : {}),
    ...(h.intervalNs ? { Interval: h.intervalNs } : {}),
    ...(h.timeoutNs ? { Timeout: h.timeoutNs } : {}),
    ...(h.startPeriodNs ? { StartPeriod: h.startPeriodNs } : {}),
    ...(h.startIntervalNs ? { StartInterval: h.startIntervalNs } : {}),
    ...(h.retries ? { Retries: h.retries } : {}),
  };
}

/** Docker's filter list (`--filter k=v`, repeated) as the map the libraries take. */
export function filtersToMap(filters: Filter[]): Record<string, string[]> {
  const map: Record<string, string[]> = {};
  for (const { key, value } of filters) (map[key] ??= []).push(value);
  return map;
}

export function summaryToProto(s: DomainSummary): ContainerSummary {
  return {
    id: s.Id,
    names: s.Names,
    image: s.Image,
    imageId: s.ImageID,
    command: s.Command,
    created: s.Created,
    state: s.State,
    status: s.Status,
    labels: s.Labels ?? {},
    sizeRw: s.SizeRw ?? 0,
    sizeRootFs: s.SizeRootFs ?? 0,
    mounts: (s.Mounts as Array<{ Type?: string; Name?: string; Source?: string; Destination?: string; Driver?: string }>).map((m) => ({
      type: m.Type ?? '',
      name: m.Name ?? '',
      source: m.Source ?? '',
      destination: m.Destination ?? '',
      driver: m.Driver ?? '',
    })),
    ports: (s.Ports as Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type: string }>).map((p) => ({
      ip: p.IP ?? '',
      privatePort: p.PrivatePort,
      publicPort: p.PublicPort ?? 0,
      type: p.Type,
    })),
    networks: Object.keys(s.NetworkSettings.Networks),
    health: s.Health?.Status ?? '',
    reservedMemory: s.Reserved?.Memory ?? 0,
    reservedNanoCpus: s.Reserved?.NanoCpus ?? 0,
  };
}

/** One `--mount` as Docker's HostConfig.Mounts entry. */
export function mountFromProto(m: ContainerMount): MountOption {
  return {
    Type: m.type || 'volume',
    Source: m.source,
    Target: m.target,
    ReadOnly: m.readOnly,
    ...(m.bindPropagation ? { BindOptions: { Propagation: m.bindPropagation } } : {}),
    ...(m.volumeNoCopy || Object.keys(m.volumeLabels).length > 0 ? { VolumeOptions: { NoCopy: m.volumeNoCopy, Labels: m.volumeLabels } } : {}),
    ...(m.tmpfsSizeBytes || m.tmpfsMode ? { TmpfsOptions: { SizeBytes: m.tmpfsSizeBytes, Mode: m.tmpfsMode } } : {}),
  };
}
