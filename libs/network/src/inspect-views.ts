import { netnsPath } from './host-links.js';
import { prefixLength } from './ipam.js';
import type { NetworkStore } from './network-store.js';
import { splitPortKey, type SummaryPort } from './port-spec.js';
import { isUserNetwork, type EndpointRecord, type NetworkRecord, type SandboxRecord } from './types.js';

/**
 * Docker's views of the network state (docker-engine-api/swagger.yaml: Network, EndpointSettings,
 * NetworkSettings, Port): `network ls` / `network inspect`, and the networking part of
 * `container inspect` and `ps`. Read-only over the network tables.
 */

/** Docker's network inspect view (the record plus its containers). */
export type NetworkInspect = Omit<NetworkRecord, 'BridgeName' | 'Predefined'> & {
  Containers: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }>;
};

/** Docker's EndpointSettings. */
interface EndpointView {
  IPAMConfig: EndpointRecord['IPAMConfig'];
  Links: string[] | null;
  Aliases: string[] | null;
  MacAddress: string;
  DriverOpts: null;
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  DNSNames: string[] | null;
}

/** A network as `network inspect` shows it; `withContainers` adds its running containers. */
export function networkView(store: NetworkStore, n: NetworkRecord, o: { withContainers: boolean }): NetworkInspect {
  const { BridgeName: _bridge, Predefined: _predefined, ...rest } = n;
  const containers: NetworkInspect['Containers'] = {};
  if (o.withContainers) {
    const ipam = n.IPAM.Config[0];
    for (const e of store.endpoints({ networkId: n.Id })) {
      if (!e.IPAddress) continue;
      containers[e.ContainerID] = {
        Name: e.ContainerName,
        EndpointID: e.EndpointID,
        MacAddress: e.MacAddress,
        IPv4Address: ipam ? `${e.IPAddress}/${prefixLength(ipam)}` : e.IPAddress,
        IPv6Address: '',
      };
    }
  }
  return { ...rest, Containers: containers };
}

/**
 * Whether the container has a network namespace now (it runs, or its netns is left to delete): its
 * named netns, the host's, or (`--network none`) the one runc made, from a start to the next stop.
 */
function hasNamespace(sandbox: SandboxRecord): boolean {
  return sandbox.Netns !== undefined || sandbox.NetworkMode === 'host' || (sandbox.NetworkMode === 'none' && sandbox.Started === true);
}

/**
 * The netns handle's path (SandboxKey): the named netns, or for a namespace runc made
 * (`--network none`) `/proc/<pid>/ns/net` of the container's init while it runs; '' otherwise.
 */
function sandboxKey(sandbox: SandboxRecord, pid: number | undefined): string {
  if (sandbox.Netns) return netnsPath(sandbox.Netns);
  if (sandbox.NetworkMode === 'none' && sandbox.Started && pid !== undefined && pid > 0) return `/proc/${pid}/ns/net`;
  return '';
}

/**
 * The HostConfig fields and NetworkSettings of container inspect; undefined without settings.
 * `pid` is the container's init while it runs (the path of a namespace runc made).
 */
export function containerInspectView(
  store: NetworkStore,
  containerId: string,
  o: { pid?: number } = {},
): { HostConfig: Record<string, unknown>; NetworkSettings: Record<string, unknown> } | undefined {
  const sandbox = store.sandbox(containerId);
  if (!sandbox) return undefined;
  const networks = endpointViews(store, containerId);
  const primary = sandbox.NetworkMode === 'bridge' ? networks.bridge : undefined;
  const ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null> = {};
  const key = sandboxKey(sandbox, o.pid);
  if (hasNamespace(sandbox)) {
    for (const key of sandbox.ExposedPorts) ports[key] = null;
    for (const p of sandbox.Ports) (ports[p.key] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
  }
  return {
    HostConfig: {
      NetworkMode: sandbox.NetworkMode,
      PortBindings: sandbox.PortBindings,
      PublishAllPorts: sandbox.PublishAllPorts,
      Dns: sandbox.Dns,
      DnsOptions: sandbox.DnsOptions,
      DnsSearch: sandbox.DnsSearch,
      ExtraHosts: sandbox.ExtraHosts.length > 0 ? sandbox.ExtraHosts : null,
    },
    NetworkSettings: {
      Bridge: '',
      SandboxID: key ? containerId : '',
      SandboxKey: key,
      Ports: ports,
      HairpinMode: false,
      LinkLocalIPv6Address: '',
      LinkLocalIPv6PrefixLen: 0,
      SecondaryIPAddresses: null,
      SecondaryIPv6Addresses: null,
      EndpointID: primary?.EndpointID ?? '',
      Gateway: primary?.Gateway ?? '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      IPAddress: primary?.IPAddress ?? '',
      IPPrefixLen: primary?.IPPrefixLen ?? 0,
      IPv6Gateway: '',
      MacAddress: primary?.MacAddress ?? '',
      Networks: networks,
    },
  };
}

/** What the container views read: the store, or a NetworkSnapshot of it. */
type NetworkReader = Pick<NetworkStore, 'sandbox' | 'endpoints' | 'network'>;

/**
 * The network tables read once (three queries), for a listing that views every container: `ps` of
 * 20 containers read the store per container (a sandbox, its endpoints, each endpoint's network:
 * 60 prepared queries and JSON parses, ~2 ms of the agent's 3 per listing; bench/README.md).
 */
export class NetworkSnapshot implements NetworkReader {
  private readonly sandboxes = new Map<string, SandboxRecord>();
  private readonly endpointsOf = new Map<string, EndpointRecord[]>();
  private readonly networks = new Map<string, NetworkRecord>();

  constructor(store: NetworkStore) {
    for (const s of store.sandboxes()) this.sandboxes.set(s.ContainerID, s);
    for (const n of store.networks()) this.networks.set(n.Id, n);
    // store.endpoints() is sorted by Order: each container's list keeps that order.
    for (const e of store.endpoints()) {
      const list = this.endpointsOf.get(e.ContainerID);
      if (list) list.push(e);
      else this.endpointsOf.set(e.ContainerID, [e]);
    }
  }

  sandbox(containerId: string): SandboxRecord | undefined {
    return this.sandboxes.get(containerId);
  }

  endpoints(filter: { containerId?: string } = {}): EndpointRecord[] {
    return filter.containerId === undefined ? [...this.endpointsOf.values()].flat().sort((a, b) => a.Order - b.Order) : [...(this.endpointsOf.get(filter.containerId) ?? [])];
  }

  network(id: string): NetworkRecord | undefined {
    return this.networks.get(id);
  }
}

/** The `ps` view: published (and exposed) ports while running, and the networks. */
export function containerSummaryView(
  store: NetworkReader,
  containerId: string,
): { Ports: SummaryPort[]; Networks: Record<string, unknown>; NetworkMode: string } | undefined {
  const sandbox = store.sandbox(containerId);
  if (!sandbox) return undefined;
  const ports: SummaryPort[] = [];
  if (hasNamespace(sandbox)) {
    const published = new Set(sandbox.Ports.map((p) => p.key));
    for (const p of sandbox.Ports) {
      const [port, proto] = splitPortKey(p.key);
      ports.push({ IP: p.hostIp, PrivatePort: port, PublicPort: p.hostPort, Type: proto });
    }
    for (const key of sandbox.ExposedPorts) {
      if (published.has(key)) continue;
      const [port, proto] = splitPortKey(key);
      ports.push({ PrivatePort: port, Type: proto });
    }
  }
  return { Ports: ports, Networks: endpointViews(store, containerId), NetworkMode: sandbox.NetworkMode };
}

/** Docker's EndpointSettings of each network the container is attached to, by network name. */
function endpointViews(store: NetworkReader, containerId: string): Record<string, EndpointView> {
  const views: Record<string, EndpointView> = {};
  for (const e of store.endpoints({ containerId })) {
    const n = store.network(e.NetworkID);
    if (!n) continue;
    const ipam = n.IPAM.Config[0];
    views[n.Name] = {
      IPAMConfig: e.IPAMConfig,
      Links: e.Links?.length ? e.Links : null,
      Aliases: e.Aliases.length > 0 ? e.Aliases : null,
      MacAddress: e.MacAddress,
      DriverOpts: null,
      NetworkID: n.Id,
      EndpointID: e.IPAddress ? e.EndpointID : '',
      Gateway: e.IPAddress && ipam ? ipam.Gateway : '',
      IPAddress: e.IPAddress,
      IPPrefixLen: e.IPAddress && ipam ? prefixLength(ipam) : 0,
      IPv6Gateway: '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      DNSNames: isUserNetwork(n) ? [e.ContainerName, ...e.Aliases, e.ContainerID.slice(0, 12)] : null,
    };
  }
  return views;
}
