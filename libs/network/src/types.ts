import type { IpamConfig } from './ipam.js';
import type { PortMap } from './port-spec.js';

/**
 * Persisted records of the network manager, in Docker's shapes and field names where Docker has
 * them (docker-engine-api/swagger.yaml: Network, EndpointSettings, PortBinding).
 */

export type NetworkDriver = 'bridge' | 'overlay' | 'host' | 'null';

/** One network (table `networks`, JSON). The predefined ones are `bridge`, `host` and `none`. */
export interface NetworkRecord {
  Name: string;
  Id: string;
  Created: string;
  /** `swarm` for an overlay network (the same network on every host of the cluster), else `local`. */
  Scope: 'local' | 'swarm';
  Driver: NetworkDriver;
  EnableIPv6: false;
  IPAM: { Driver: 'default'; Options: Record<string, string>; Config: IpamConfig[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: false;
  ConfigFrom: { Network: string };
  ConfigOnly: false;
  Options: Record<string, string>;
  Labels: Record<string, string>;
  /** Berth: the bridge interface of a bridge network (`berth0`, `br-<12 hex>`) or an overlay network (`ov-<12 hex>`). */
  BridgeName?: string;
  /** Berth: one of the predefined networks (cannot be removed). */
  Predefined?: boolean;
}

/** One container's attachment to one network (table `endpoints`, JSON). */
export interface EndpointRecord {
  NetworkID: string;
  ContainerID: string;
  /** Without the slash; kept for DNS. */
  ContainerName: string;
  EndpointID: string;
  /** `--network-alias`, `network connect --alias` (user-defined networks only). */
  Aliases: string[];
  /** `--link` on a user-defined network: `name:alias`, aliases only this container resolves (absent in older records). */
  Links?: string[];
  /** `--ip`: the address this container asks for on this network. */
  IPAMConfig: { IPv4Address?: string } | null;
  /** Connection order: the interface is `eth<index among the container's endpoints>`. */
  Order: number;
  /** Set while the container runs (the endpoint is "active"). */
  IPAddress: string;
  MacAddress: string;
  HostVeth: string;
  Interface: string;
}

/** A published port as it is programmed while the container runs. */
export interface ActivePort {
  /** `80/tcp`. */
  key: string;
  hostIp: string;
  hostPort: number;
  containerIp: string;
}

/** One container's network wishes and, while it runs, its sandbox (table `sandboxes`, JSON). */
export interface SandboxRecord {
  ContainerID: string;
  ContainerName: string;
  /**
   * Docker's HostConfig.NetworkMode: `bridge` (the default), `none`, `host`, a network name, or
   * `container:<id>`.
   */
  NetworkMode: string;
  PortBindings: PortMap;
  PublishAllPorts: boolean;
  /** Port keys (`80/tcp`) of the image's EXPOSE, `--expose` and `-p`. */
  ExposedPorts: string[];
  Dns: string[];
  DnsSearch: string[];
  DnsOptions: string[];
  ExtraHosts: string[];
  MacAddress: string;
  /** The named netns (`/run/netns/<name>`) while the container runs. */
  Netns?: string;
  Ports: ActivePort[];
  /** Set from a successful start to the next stop: the container is connected (its `disconnect` events are due). */
  Started?: boolean;
}

/** User-defined bridge and overlay networks get DNS, aliases and static addresses; the default `bridge` does not. */
export function isUserNetwork(n: NetworkRecord): boolean {
  return hasBridge(n) && !n.Predefined;
}

/** Networks whose containers plug into a bridge of this host: bridge and overlay networks (overlay-driver.ts). */
export function hasBridge(n: NetworkRecord): boolean {
  return n.Driver === 'bridge' || n.Driver === 'overlay';
}
