/**
 * The container manager's view of container networking (@berth/network's NetworkManager satisfies
 * it structurally). Without it, containers get a private network namespace with only loopback and
 * the network options of `create` are ignored.
 */
import type { ContainerNetworkRequest, ContainerSandbox } from '@berth/network';

/** `docker run`'s network flags, as given (libs/network's request type). */
export type ContainerNetworkOptions = ContainerNetworkRequest;

/** Where a starting container's network comes from, and its /etc/hosts and resolv.conf contents. */
export type NetworkSandbox = ContainerSandbox;

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
  /**
   * HostConfig fields and NetworkSettings for inspect; undefined when the container has none. `pid`:
   * its init while it runs (the namespace's path when runc made it: `--network none`).
   */
  inspect(containerId: string, o?: { pid?: number }): { HostConfig: Record<string, unknown>; NetworkSettings: Record<string, unknown> } | undefined;
  /** Ports and networks for `ps`; undefined when the container has none. */
  summary(containerId: string): { Ports: unknown[]; Networks: Record<string, unknown>; NetworkMode: string } | undefined;
  /** `summary` for a listing of many containers: the state read once, when this is called. */
  summaries?(): (containerId: string) => ReturnType<ContainerNetworking['summary']>;
}
