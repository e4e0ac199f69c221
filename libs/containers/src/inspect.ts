import { driverLogPath } from './log-driver.js';
import { inspectMounts } from './mounts.js';
import { statusOf, statusText } from './state.js';
import type { ContainerNetworking } from './networking.js';
import type { ContainerRecord, ContainerSummary } from './types.js';

/** Docker's ContainerInspectResponse for one record. */
export interface ContainerInspect {
  Id: string;
  Created: string;
  Path: string;
  Args: string[];
  State: ContainerRecord['State'];
  Image: string;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  LogPath: string;
  Name: string;
  RestartCount: number;
  Driver: string;
  Platform: string;
  MountLabel: string;
  ProcessLabel: string;
  AppArmorProfile: string;
  ExecIDs: string[] | null;
  HostConfig: Record<string, unknown>;
  GraphDriver: { Name: string; Data: Record<string, string> };
  Mounts: unknown[];
  Config: ContainerRecord['Config'];
  NetworkSettings: Record<string, unknown>;
}

/**
 * The inspect view of a record. `graph` is the overlay's dirs (absent when the snapshot is gone),
 * `execIds` the exec sessions that are alive.
 */
export function toInspect(
  record: ContainerRecord,
  extra: { graph?: { upperDir: string; lowerDirs: string[]; mergedDir: string }; execIds?: string[] } = {},
): ContainerInspect {
  const graphData: Record<string, string> = {};
  if (extra.graph) {
    graphData.UpperDir = extra.graph.upperDir;
    graphData.LowerDir = extra.graph.lowerDirs.join(':');
    graphData.MergedDir = extra.graph.mergedDir;
    graphData.WorkDir = `${extra.graph.upperDir.replace(/\/[^/]*$/, '')}/work`;
  }
  const h = record.HostConfig;
  return {
    Id: record.Id,
    Created: record.Created,
    Path: record.Path,
    Args: record.Args,
    State: { ...record.State, Status: record.State.Status === 'removing' ? 'removing' : statusOf(record.State) },
    Image: record.Image,
    ResolvConfPath: record.ResolvConfPath,
    HostnamePath: record.HostnamePath,
    HostsPath: record.HostsPath,
    LogPath: driverLogPath(record),
    Name: record.Name,
    RestartCount: record.RestartCount,
    Driver: 'overlay2',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: extra.execIds && extra.execIds.length > 0 ? extra.execIds : null,
    HostConfig: {
      Binds: h.Binds ?? null,
      ContainerIDFile: h.ContainerIDFile ?? '',
      ConsoleSize: h.ConsoleSize ?? [0, 0],
      LogConfig: h.LogConfig,
      NetworkMode: h.NetworkMode,
      PortBindings: {},
      RestartPolicy: h.RestartPolicy,
      AutoRemove: h.AutoRemove,
      VolumeDriver: '',
      VolumesFrom: h.VolumesFrom ?? null,
      CapAdd: h.CapAdd ?? null,
      CapDrop: h.CapDrop ?? null,
      CgroupnsMode: h.CgroupnsMode ?? 'host',
      Dns: [],
      DnsOptions: [],
      DnsSearch: [],
      ExtraHosts: null,
      GroupAdd: h.GroupAdd ?? null,
      IpcMode: h.IpcMode || 'private',
      Cgroup: '',
      Links: h.Links ?? null,
      OomScoreAdj: 0,
      PidMode: h.PidMode ?? '',
      Privileged: h.Privileged ?? false,
      PublishAllPorts: false,
      ReadonlyRootfs: h.ReadonlyRootfs ?? false,
      SecurityOpt: h.SecurityOpt ?? null,
      UTSMode: h.UTSMode ?? '',
      UsernsMode: '',
      ShmSize: h.ShmSize ?? 67108864,
      ...(h.Sysctls && Object.keys(h.Sysctls).length > 0 ? { Sysctls: h.Sysctls } : {}),
      Runtime: 'runc',
      Isolation: '',
      Init: h.Init,
      CpuShares: h.CpuShares ?? 0,
      Memory: h.Memory,
      NanoCpus: h.NanoCpus,
      CgroupParent: '',
      CpuPeriod: 0,
      CpuQuota: 0,
      CpusetCpus: h.CpusetCpus ?? '',
      CpusetMems: '',
      Devices: h.Devices ?? [],
      MemoryReservation: h.MemoryReservation ?? 0,
      MemorySwap: h.MemorySwap ?? 0,
      OomKillDisable: h.OomKillDisable ?? false,
      PidsLimit: h.PidsLimit,
      Ulimits: h.Ulimits ?? null,
      Mounts: h.Mounts ?? [],
      ...(h.Tmpfs && Object.keys(h.Tmpfs).length > 0 ? { Tmpfs: h.Tmpfs } : {}),
    },
    GraphDriver: { Name: 'overlay2', Data: graphData },
    Mounts: inspectMounts(record.MountPoints),
    Config: record.Config,
    NetworkSettings: {
      Bridge: '',
      SandboxID: '',
      SandboxKey: '',
      Ports: {},
      HairpinMode: false,
      LinkLocalIPv6Address: '',
      LinkLocalIPv6PrefixLen: 0,
      Gateway: '',
      IPAddress: '',
      IPPrefixLen: 0,
      MacAddress: '',
      Networks: {},
    },
  };
}

/** Docker's ContainerSummary (`docker ps`) for one record. */
export function toSummary(record: ContainerRecord, now = Date.now()): ContainerSummary {
  return {
    Id: record.Id,
    Names: [record.Name],
    Image: record.ImageRef,
    ImageID: record.Image,
    // moby's list.go: arguments with a space are single-quoted
    Command: [record.Path, ...record.Args.map((a) => (a.includes(' ') ? `'${a}'` : a))].filter((s) => s !== '').join(' '),
    Created: Math.floor(Date.parse(record.Created) / 1000),
    Ports: [],
    Labels: record.Config.Labels ?? {},
    State: record.State.Status === 'removing' ? 'removing' : statusOf(record.State),
    Status: statusText(record.State, now),
    HostConfig: { NetworkMode: record.HostConfig.NetworkMode },
    NetworkSettings: { Networks: {} },
    Mounts: inspectMounts(record.MountPoints),
    ...(record.State.Health ? { Health: { Status: record.State.Health.Status, FailingStreak: record.State.Health.FailingStreak } } : {}),
    Reserved: reservedOf(record),
  };
}

/** What a container holds of its host for placement: nothing once it has exited or died. */
function reservedOf(record: ContainerRecord): { Memory: number; NanoCpus: number } {
  const state = statusOf(record.State);
  if (state === 'exited' || state === 'dead') return { Memory: 0, NanoCpus: 0 };
  return { Memory: record.HostConfig.MemoryReservation || record.HostConfig.Memory || 0, NanoCpus: record.HostConfig.NanoCpus || 0 };
}

/** Merges the networking part into an inspect view. */
export function withNetworkInspect(view: ContainerInspect, network: ReturnType<ContainerNetworking['inspect']>): ContainerInspect {
  if (!network) return view;
  return { ...view, HostConfig: { ...view.HostConfig, ...network.HostConfig }, NetworkSettings: network.NetworkSettings };
}

/** Merges the networking part into a `ps` summary. */
export function withNetworkSummary(summary: ContainerSummary, network: ReturnType<ContainerNetworking['summary']>): ContainerSummary {
  if (!network) return summary;
  return {
    ...summary,
    Ports: network.Ports,
    HostConfig: { ...summary.HostConfig, NetworkMode: network.NetworkMode },
    NetworkSettings: { Networks: network.Networks },
  };
}
