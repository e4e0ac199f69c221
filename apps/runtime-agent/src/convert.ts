/**
 * proto ⇄ domain conversions for the runtime agent, in one place (the gRPC messages of
 * proto/berth/v1 on one side, the types of @berth/containers and @berth/images on the other).
 */
import type { ContainerSummary as DomainSummary, CreateOptions, HealthConfig, MountOption, RestartPolicyName } from '@berth/containers';
import { InvalidArgumentError } from '@berth/errors';
import type { ContainerMount, ContainerSpec, ContainerSummary, Filter, HealthConfig as HealthProto } from '@berth/proto';

const restartPolicies = new Set(['', 'no', 'always', 'unless-stopped', 'on-failure']);

export function createOptionsFromSpec(spec: ContainerSpec): CreateOptions {
  const policy = spec.restartPolicy?.name ?? '';
  if (!restartPolicies.has(policy)) {
    throw new InvalidArgumentError(`invalid restart policy "${policy}": expected no, always, unless-stopped or on-failure[:max-retries]`);
  }
  if (policy !== 'on-failure' && (spec.restartPolicy?.maximumRetryCount ?? 0) > 0) {
    throw new InvalidArgumentError(`invalid restart policy "${policy}": maximum retry count can only be used with on-failure`);
  }
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
    resources: {
      memory: spec.resources?.memory || undefined,
      nanoCpus: spec.resources?.nanoCpus || undefined,
      pidsLimit: spec.resources?.pidsLimit || undefined,
    },
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
    sizeRw: 0,
    ports: (s.Ports as Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type: string }>).map((p) => ({
      ip: p.IP ?? '',
      privatePort: p.PrivatePort,
      publicPort: p.PublicPort ?? 0,
      type: p.Type,
    })),
    networks: Object.keys(s.NetworkSettings.Networks),
    health: s.Health?.Status ?? '',
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
