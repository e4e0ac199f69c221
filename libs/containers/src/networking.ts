/**
 * The container manager's view of container networking (@berth/network's NetworkManager satisfies
 * it structurally). Without it, containers get a private network namespace with only loopback and
 * the network options of `create` are ignored.
 */

/** `docker run`'s network flags, as given. */
export interface ContainerNetworkOptions {
  /** `--network`: '' / `default` (= bridge), `bridge`, `none`, `host`, a network, `container:NAME`. */
  mode?: string;
  /** `-p` values. */
  publish?: string[];
  /** `-P`. */
  publishAll?: boolean;
  /** `--expose` values. */
  expose?: string[];
  /** `--network-alias`. */
  aliases?: string[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  /** `--add-host host:ip`. */
  extraHosts?: string[];
  /** `--ip`. */
  ipv4Address?: string;
  /** `--mac-address`. */
  macAddress?: string;
  /** `--link NAME[:ALIAS]` on a user-defined network: per-container DNS aliases (Docker's EndpointSettings.Links). */
  links?: string[];
}

/** Where a starting container's network comes from, and its /etc/hosts and resolv.conf contents. */
export interface NetworkSandbox {
  namespace: 'new' | 'host' | { path: string };
  hosts?: string;
  resolvConf?: string;
}

export interface ContainerNetworking {
  /**
   * At create, before the record is written: checks and records the container's network options.
   * Returns HostConfig.NetworkMode and the port keys (`80/tcp`) to add to Config.ExposedPorts.
   * Throws InvalidArgumentError / NotFoundError (no such network or container).
   */
  create(container: { id: string; name: string; exposedPorts?: string[] }, options: ContainerNetworkOptions): Promise<{ networkMode: string; exposedPorts: string[] }>;
  /** Before the runtime creates the container, at every start. Undoes itself when it fails. */
  start(container: { id: string; hostname: string; domainname?: string }): Promise<NetworkSandbox>;
  /** After every exit (and a failed start): releases addresses, ports and the namespace. Idempotent. */
  stop(containerId: string): Promise<void>;
  /** When the container is removed (or its create failed). */
  remove(containerId: string): Promise<void>;
  /** HostConfig fields and NetworkSettings for inspect; undefined when the container has none. */
  inspect(containerId: string): { HostConfig: Record<string, unknown>; NetworkSettings: Record<string, unknown> } | undefined;
  /** Ports and networks for `ps`; undefined when the container has none. */
  summary(containerId: string): { Ports: unknown[]; Networks: Record<string, unknown>; NetworkMode: string } | undefined;
}
