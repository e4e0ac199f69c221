import type { MetadataDb } from '@berth/metadata';
import type { IpamRequest } from './ipam.js';
import type { Logger } from '@berth/log';
import type { OverlayOptions } from './overlay-directory.js';

/**
 * The options the network manager takes, each defined once: how it is opened, `network create`,
 * a container's network flags (`docker run`), `network connect`, and what a starting container
 * gets back. libs/containers declares the narrow view it consumes (ContainerNetworking), which these
 * types satisfy structurally.
 */

/** What the network manager needs to know about containers (the container manager answers). */
export interface ContainerLookup {
  /** NotFoundError `No such container: x` when there is none. */
  get(idOrName: string): {
    id: string;
    name: string;
    running: boolean;
    pid: number;
    hostsPath: string;
    resolvConfPath: string;
    /** Its health status (`starting`, `healthy`, `unhealthy`); undefined without a healthcheck. */
    health?: string;
  };
}

export interface NetworkManagerOptions {
  db: MetadataDb;
  /** 8 hex characters naming this agent's host objects (rules, links, namespaces); see nat-rules.ts. */
  tag: string;
  /** Set here or later with `setContainers` (the container manager is usually created after). */
  containers?: ContainerLookup;
  /** The host's resolver configuration, default /etc/resolv.conf. */
  hostResolvConf?: string;
  /** Subnets tried for the default `bridge` network, first free one wins. */
  defaultBridgeSubnets?: readonly string[];
  /** Subnets tried for user networks without `--subnet`. */
  subnetPool?: readonly string[];
  log?: Logger;
  /** Overlay networks: the cluster's endpoint index and this host's underlay (overlay-networks.ts). */
  overlay?: OverlayOptions;
  /** Docker's network events (see NetworkEvent); a listener's failure is ignored. */
  onEvent?: (event: NetworkEvent) => void;
}

/**
 * One of Docker's network events: `create` / `destroy` of a user network, `connect` / `disconnect`
 * of a container's endpoint when it is plugged in (start, `network connect` of a running container)
 * or out (exit, `network disconnect`), and `prune` (no network, `reclaimed: 0`). Attributes as
 * Docker's: `name` and `type` (the driver), plus `container` (its id) on connect and disconnect.
 */
export interface NetworkEvent {
  action: 'create' | 'destroy' | 'connect' | 'disconnect' | 'prune';
  /** The network's id; '' for prune. */
  id: string;
  attributes: Record<string, string>;
}

/** `berth network create` options (`--subnet`, `--gateway`, `--ip-range` as IPAM asks for them). */
export interface CreateNetworkOptions extends IpamRequest {
  name: string;
  /** `bridge` (the default) or `overlay`. */
  driver?: string;
  /** An overlay network's id, the same on every host (the gateway chooses it); a new one when absent. */
  id?: string;
  internal?: boolean;
  attachable?: boolean;
  labels?: Record<string, string>;
  /** Driver options (`-o`); `com.docker.network.bridge.name` names the bridge. */
  options?: Record<string, string>;
}

/** A container's network options at create (`docker run` flags). */
export interface ContainerNetworkRequest {
  /** `--network`: '' or `default` (= bridge), `bridge`, `none`, `host`, a network, `container:NAME`. */
  mode?: string;
  /** `-p` values. */
  publish?: string[];
  /** `-P`. */
  publishAll?: boolean;
  /** `--expose` values. */
  expose?: string[];
  /** `--network-alias` (user-defined networks only). */
  aliases?: string[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  /** `--add-host host:ip`. */
  extraHosts?: string[];
  /** `--ip` (user-defined networks only). */
  ipv4Address?: string;
  /** `--mac-address`. */
  macAddress?: string;
  /**
   * `--link NAME[:ALIAS]` on a user-defined network (Docker's EndpointSettings.Links): ALIAS resolves,
   * for this container only, as NAME does on the network; NAME need not exist yet.
   */
  links?: string[];
}

/** `network connect --alias --ip --link`: the per-network part of a container's request. */
export type ConnectOptions = Pick<ContainerNetworkRequest, 'aliases' | 'ipv4Address' | 'links'>;

/** What a container starts with: the namespace to run in and its /etc/hosts and resolv.conf. */
export interface ContainerSandbox {
  namespace: 'new' | 'host' | { path: string };
  hosts?: string;
  resolvConf?: string;
}
