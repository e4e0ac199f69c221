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
    LogPath: record.LogPath,
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
      ContainerIDFile: '',
      LogConfig: h.LogConfig,
      NetworkMode: h.NetworkMode,
      PortBindings: {},
      RestartPolicy: h.RestartPolicy,
      AutoRemove: h.AutoRemove,
      VolumeDriver: '',
      VolumesFrom: h.VolumesFrom ?? null,
      CapAdd: h.CapAdd ?? null,
      CapDrop: h.CapDrop ?? null,
      Dns: [],
      DnsOptions: [],
      DnsSearch: [],
      ExtraHosts: null,
      IpcMode: 'private',
      Privileged: h.Privileged ?? false,
      PublishAllPorts: false,
      ReadonlyRootfs: h.ReadonlyRootfs ?? false,
      SecurityOpt: h.SecurityOpt ?? null,
      ShmSize: 67108864,
      Runtime: 'runc',
      Init: h.Init,
      Memory: h.Memory,
      MemorySwap: 0,
      NanoCpus: h.NanoCpus,
      CpuShares: 0,
      CpuPeriod: 0,
      CpuQuota: 0,
      PidsLimit: h.PidsLimit,
      OomKillDisable: false,
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
    Command: [record.Path, ...record.Args].filter((s) => s !== '').join(' '),
    Created: Math.floor(Date.parse(record.Created) / 1000),
    Ports: [],
    Labels: record.Config.Labels ?? {},
    State: record.State.Status === 'removing' ? 'removing' : statusOf(record.State),
    Status: statusText(record.State, now),
    HostConfig: { NetworkMode: record.HostConfig.NetworkMode },
    NetworkSettings: { Networks: {} },
    Mounts: inspectMounts(record.MountPoints),
    ...(record.State.Health ? { Health: { Status: record.State.Health.Status, FailingStreak: record.State.Health.FailingStreak } } : {}),
  };
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
