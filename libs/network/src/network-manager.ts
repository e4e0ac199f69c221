import { InvalidArgumentError, isBerthError } from '@berth/errors';
import { DnsResolvers } from './dns-resolvers.js';
import { HostSweeper } from './host-sweep.js';
import { containerInspectView, containerSummaryView, NetworkSnapshot, networkView, type NetworkInspect } from './inspect-views.js';
import { removeLoopbackGuardIfUnused } from './loopback-guard.js';
import { NetworkCatalogue } from './network-catalogue.js';
import { networkPruneFilter } from './network-filters.js';
import { NetworkContext } from './network-context.js';
import { OverlayNetworks } from './overlay-networks.js';
import type {
  ConnectOptions,
  ContainerLookup,
  ContainerNetworkRequest,
  ContainerSandbox,
  CreateNetworkOptions,
  NetworkManagerOptions,
} from './network-options.js';
import { PortPublisher } from './port-publishing.js';
import type { SummaryPort } from './port-spec.js';
import { Sandboxes } from './sandboxes.js';
import { SerialQueue } from './serial-queue.js';
import type { NetworkRecord } from './types.js';
import { silentLogger } from '@berth/log';

/** A container's network to release at its exit (stop) or removal. */
interface SettleRequest {
  containerId: string;
  remove: boolean;
}

/**
 * Container networking on one host, Docker's bridge driver, behind one facade:
 *
 *   network-catalogue.ts  networks and IPAM: predefined `bridge`/`host`/`none`, user bridge networks
 *   sandboxes.ts          per running container a named netns with one veth per network
 *   port-publishing.ts    published ports, and the iptables rules (DNAT, masquerade, isolation)
 *   overlay-networks.ts   overlay networks: bridge + vxlan per host, addresses and endpoints in the cluster's index
 *   dns-resolvers.ts      an embedded DNS server on each user network's gateway address
 *   host-sweep.ts         reconciliation: tagged links and namespaces nothing needs any more
 *   loopback-guard.ts     the host-wide rule that keeps containers off the host's 127.0.0.1
 *   inspect-views.ts      Docker's inspect and `ps` shapes
 *
 * State lives in the metadata database (network-store.ts); host objects are derived from it. At
 * `open` the bridges and rules are (re)built, after the container manager's own reconciliation
 * `sweep` deletes every tagged link and netns nothing needs any more, and `close` takes everything
 * down when no container runs (running containers keep their network while the agent is away).
 * Every mutating operation is serialized; stops and removals queued together run as one (serial-queue.ts).
 */
export class NetworkManager {
  private readonly ctx: NetworkContext;
  private readonly dns: DnsResolvers;
  private readonly nat: PortPublisher;
  private readonly networks: NetworkCatalogue;
  private readonly overlay: OverlayNetworks;
  private readonly sandboxes: Sandboxes;
  private readonly sweeper: HostSweeper;
  private readonly queue = new SerialQueue();

  private constructor(options: NetworkManagerOptions) {
    const hostResolvConf = options.hostResolvConf ?? '/etc/resolv.conf';
    this.ctx = new NetworkContext(options.db, options.tag, options.log ?? silentLogger, options.containers, options.onEvent);
    this.overlay = new OverlayNetworks(this.ctx, options.overlay);
    this.dns = new DnsResolvers(this.ctx, hostResolvConf, (networkId) => this.overlay.remote(networkId));
    this.nat = new PortPublisher(this.ctx);
    this.networks = new NetworkCatalogue(this.ctx, this.dns, this.nat, this.overlay, options);
    this.sandboxes = new Sandboxes(this.ctx, this.networks, this.nat, hostResolvConf, this.overlay);
    this.sweeper = new HostSweeper(this.ctx, this.sandboxes);
  }

  /** Loads the networks, makes the predefined ones, and builds bridges, rules and DNS servers. */
  static async open(options: NetworkManagerOptions): Promise<NetworkManager> {
    if (!/^[0-9a-f]{8}$/.test(options.tag)) throw new InvalidArgumentError(`invalid network tag "${options.tag}": expected 8 hex characters`);
    const manager = new NetworkManager(options);
    await manager.serial(async () => {
      await manager.networks.setUp();
      await manager.nat.apply({ force: true });
      // In the background: without NATS the agent still serves (overlay networks then reach only its containers).
      manager.overlay.startWatching();
    });
    return manager;
  }

  setContainers(containers: ContainerLookup): void {
    this.ctx.setContainers(containers);
  }

  // ---- networks ---------------------------------------------------------------------------------

  /**
   * `network create`. Errors: InvalidArgumentError (name, driver, addresses), ConflictError (name
   * taken, subnet overlapping another network or a host route).
   */
  async createNetwork(o: CreateNetworkOptions): Promise<NetworkRecord> {
    return this.serial(() => this.networks.create(o));
  }

  /** `network ls` (filters: name, id, driver, label, type=custom|builtin), oldest first. */
  listNetworks(filters: Record<string, string[]> = {}): NetworkInspect[] {
    return this.networks.list(filters).map((n) => networkView(this.ctx.store, n, { withContainers: false }));
  }

  /** `network inspect`: Docker's shape with the running containers. NotFoundError `network x not found`. */
  inspectNetwork(idOrName: string): NetworkInspect {
    return networkView(this.ctx.store, this.networks.resolve(idOrName), { withContainers: true });
  }

  /**
   * `network rm`. FailedPreconditionError for the predefined networks, ConflictError while a
   * container (running or not) is attached.
   */
  async removeNetwork(idOrName: string): Promise<void> {
    await this.serial(() => this.networks.remove(idOrName));
  }

  /**
   * `network prune`: removes every user-defined network no container uses, among those the prune
   * filters (`until`, `label`, `label!`) select. @returns their names.
   */
  async pruneNetworks(filters: Record<string, string[]> = {}): Promise<string[]> {
    const removed: string[] = [];
    const selected = networkPruneFilter(filters);
    for (const n of this.networks.list()) {
      if (!selected(n) || n.Predefined || this.ctx.store.endpoints({ networkId: n.Id }).length > 0) continue;
      try {
        await this.removeNetwork(n.Id);
        removed.push(n.Name);
      } catch (err) {
        if (!isBerthError(err)) throw err;
      }
    }
    this.ctx.emit('prune', undefined, { reclaimed: '0' });
    return removed;
  }

  /**
   * `network connect`: attaches a container to a user-defined network; a running container gets
   * its interface at once, a stopped one at its next start. ConflictError when already attached.
   */
  async connect(network: string, container: string, o: ConnectOptions = {}): Promise<void> {
    await this.serial(() => this.sandboxes.connect(network, container, o));
  }

  /** `network disconnect`. NotFoundError when the container is not attached to the network. */
  async disconnect(network: string, container: string, o: { force?: boolean } = {}): Promise<void> {
    await this.serial(() => this.sandboxes.disconnect(network, container, o));
  }

  // ---- container hooks (ContainerNetworking of @berth/containers) ------------------------------

  /**
   * At container create: validates the request, resolves the network and records the container's
   * settings and endpoint (no host objects yet). @returns Docker's HostConfig.NetworkMode and every
   * exposed port key (the image's, `--expose`, `-p`), for Config.ExposedPorts.
   * InvalidArgumentError / NotFoundError (`network x not found`, `No such container: x`).
   */
  async create(
    container: { id: string; name: string; exposedPorts?: string[] },
    request: ContainerNetworkRequest,
  ): Promise<{ networkMode: string; exposedPorts: string[] }> {
    return this.serial(async () => this.sandboxes.create(container, request));
  }

  /**
   * Before the runtime creates the container: makes its netns, plugs it into its networks (veth,
   * address, default route), publishes its ports, and says which namespace to use and what
   * /etc/hosts and /etc/resolv.conf hold. A failure undoes everything it did. ConflictError `Bind
   * for 0.0.0.0:8080 failed: port is already allocated`; FailedPreconditionError when a
   * `container:` target does not run. A container without settings (older than networking) gets
   * a private namespace and keeps its files.
   */
  async start(container: { id: string; hostname: string; domainname?: string }): Promise<ContainerSandbox> {
    return this.serial(() => this.sandboxes.start(container));
  }

  /**
   * After the container's exit: unpublishes its ports, frees its addresses, deletes its netns.
   * Idempotent. Stops and removals waiting in the queue together are done together.
   */
  async stop(containerId: string): Promise<void> {
    await this.queue.batch({ containerId, remove: false }, this.settle);
  }

  /** When the container is removed: `stop` plus forgetting its settings and endpoints. */
  async remove(containerId: string): Promise<void> {
    await this.queue.batch({ containerId, remove: true }, this.settle);
  }

  /** One batch of stops and removals (Sandboxes.settle), each request answered with its container's failure. */
  private readonly settle = async (requests: SettleRequest[]): Promise<Map<SettleRequest, unknown>> => {
    const failed = await this.sandboxes.settle(requests);
    return new Map(requests.filter((r) => failed.has(r.containerId)).map((r) => [r, failed.get(r.containerId)]));
  };

  /**
   * The HostConfig fields and NetworkSettings of container inspect; undefined without settings.
   * `pid`: the container's init while it runs (SandboxKey of a namespace runc made, `--network none`).
   */
  inspect(containerId: string, o: { pid?: number } = {}): { HostConfig: Record<string, unknown>; NetworkSettings: Record<string, unknown> } | undefined {
    return containerInspectView(this.ctx.store, containerId, o);
  }

  /** The `ps` view: published (and exposed) ports while running, and the networks. */
  summary(containerId: string): { Ports: SummaryPort[]; Networks: Record<string, unknown>; NetworkMode: string } | undefined {
    return containerSummaryView(this.ctx.store, containerId);
  }

  /** `summary` of many containers (a listing): the network tables read once, when this is called. */
  summaries(): (containerId: string) => { Ports: SummaryPort[]; Networks: Record<string, unknown>; NetworkMode: string } | undefined {
    const snapshot = new NetworkSnapshot(this.ctx.store);
    return (containerId) => containerSummaryView(snapshot, containerId);
  }

  // ---- lifecycle --------------------------------------------------------------------------------

  /**
   * After the container manager reconciled its containers: deletes tagged links and namespaces that
   * no running container needs, forgets settings of containers that no longer exist, and rebuilds
   * the rules. Safe to call at any time.
   */
  async sweep(): Promise<void> {
    await this.serial(async () => {
      await this.sweeper.forgetMissingContainers();
      await this.sweeper.sweepHost({ keepBridges: true });
      await this.nat.apply({ force: true });
    });
  }

  /**
   * Stops the DNS servers. When no container runs, every host object of this agent (bridges,
   * rules) goes too, and the loopback guard when no other agent's bridge is left; otherwise they
   * stay for the running containers and the next `open` adopts them. The links and the rules are
   * taken down side by side (neither needs the other gone), the guard after the bridges. Throws the
   * first failure of the links' listing once every step ran (each object's own failure is logged).
   */
  async close(): Promise<void> {
    await this.serial(async () => {
      await Promise.all([this.overlay.close(), this.dns.stopAll()]);
      if (this.ctx.store.sandboxes().some((s) => s.Netns !== undefined)) return;
      const links = (async () => {
        await this.networks.takeDownAll();
        await this.sweeper.sweepHost({ keepBridges: false });
      })();
      const rules = this.nat.removeAll().catch((err) => this.ctx.log.warn({ err }, "Cannot remove this agent's iptables rules"));
      const [taken] = await Promise.allSettled([links, rules]);
      // The guard is the host's, not this agent's: it stays while another agent has a bridge.
      await removeLoopbackGuardIfUnused().catch((err) => this.ctx.log.warn({ err }, 'Cannot remove the loopback guard'));
      if (taken.status === 'rejected') throw taken.reason;
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.queue.run(fn);
  }
}
