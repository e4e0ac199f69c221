import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import {
  ConflictError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  isBerthError,
  messageOf,
} from '@berth/errors';
import type { MetadataDb } from '@berth/metadata';
import { hostNameservers, hostsFile, parseExtraHost, resolvConf } from './container-files.js';
import { DnsServer } from './dns-server.js';
import { mustExec } from './host-exec.js';
import {
  addVeth,
  createNetns,
  deleteLink,
  deleteNetns,
  ensureBridge,
  listLinks,
  listNetns,
  netnsPath,
  setSysctl,
} from './host-links.js';
import { allocateAddress, planIpam, prefixLength, type IpamConfig } from './ipam.js';
import { formatCidr, overlaps, parseCidr, tryParseIp, type Cidr } from './ipv4.js';
import { applyRules, removeRules, type NatState } from './nat-rules.js';
import { NetworkStore } from './network-store.js';
import { ephemeralPortRange, parseExpose, parsePublishList, splitPortKey, type PortMap, type SummaryPort } from './port-spec.js';
import type { ActivePort, EndpointRecord, NetworkRecord, SandboxRecord } from './types.js';

/** What the network manager needs to know about containers (the container manager answers). */
export interface ContainerLookup {
  /** NotFoundError `No such container: x` when there is none. */
  get(idOrName: string): { id: string; name: string; running: boolean; pid: number; hostsPath: string; resolvConfPath: string; health?: string };
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
  log?: (line: string) => void;
}

/** `berth network create` options. */
export interface CreateNetworkOptions {
  name: string;
  /** Only `bridge` (the default). */
  driver?: string;
  subnet?: string;
  gateway?: string;
  ipRange?: string;
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
  publish?: string[];
  publishAll?: boolean;
  expose?: string[];
  aliases?: string[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  extraHosts?: string[];
  ipv4Address?: string;
  macAddress?: string;
}

/** What a container starts with: the namespace to run in and its /etc/hosts and resolv.conf. */
export interface ContainerSandbox {
  namespace: 'new' | 'host' | { path: string };
  hosts?: string;
  resolvConf?: string;
}

/** Docker's network inspect view (the record plus its containers). */
export type NetworkInspect = Omit<NetworkRecord, 'BridgeName' | 'Predefined'> & {
  Containers: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }>;
};

const defaultBridgeSubnets = ['172.31.0.0/16', '172.30.0.0/16', '10.231.0.0/16', '10.232.0.0/16', '192.168.231.0/24'];
const bridgeNameOption = 'com.docker.network.bridge.name';

/**
 * Container networking on one host, Docker's bridge driver: the predefined `bridge` (bridge
 * `berth0`, or `berth1`… when another agent holds that name), `host` and `none` networks and
 * user-defined bridge networks; per running container a named netns (`berth-<tag>-<id12>`) with
 * one veth per network and an address from the network's IPAM; published ports (DNAT), outbound
 * masquerading and isolation between networks (nat-rules.ts); an embedded DNS server on each user
 * network's gateway address that resolves container names and aliases.
 *
 * State lives in the metadata database (network-store.ts); host objects are derived from it. At
 * `open` the bridges and rules are (re)built, after the container manager's own reconciliation
 * `sweep` deletes every tagged link and netns nothing needs any more, and `close` takes everything
 * down when no container runs (running containers keep their network while the agent is away).
 * Every mutating operation is serialized.
 */
export class NetworkManager {
  private readonly store: NetworkStore;
  private readonly dnsServers = new Map<string, DnsServer>();
  private containers?: ContainerLookup;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly log: (line: string) => void;

  private constructor(private readonly options: NetworkManagerOptions) {
    this.store = new NetworkStore(options.db);
    this.containers = options.containers;
    this.log = options.log ?? (() => {});
  }

  /** Loads the networks, makes the predefined ones, and builds bridges, rules and DNS servers. */
  static async open(options: NetworkManagerOptions): Promise<NetworkManager> {
    if (!/^[0-9a-f]{8}$/.test(options.tag)) throw new InvalidArgumentError(`invalid network tag "${options.tag}": expected 8 hex characters`);
    const manager = new NetworkManager(options);
    await manager.serial(() => manager.setUp());
    return manager;
  }

  setContainers(containers: ContainerLookup): void {
    this.containers = containers;
  }

  // ---- networks ---------------------------------------------------------------------------------

  /**
   * `network create`. Errors: InvalidArgumentError (name, driver, addresses), ConflictError (name
   * taken, subnet overlapping another network or a host route).
   */
  async createNetwork(o: CreateNetworkOptions): Promise<NetworkRecord> {
    return this.serial(async () => {
      if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(o.name)) {
        throw new InvalidArgumentError(`invalid network name "${o.name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      }
      if (this.store.networkByName(o.name)) throw new ConflictError(`network with name ${o.name} already exists`);
      const driver = o.driver || 'bridge';
      if (driver !== 'bridge') throw new InvalidArgumentError(`plugin "${driver}" not found: only the bridge driver is supported`);
      const ipam = planIpam({ subnet: o.subnet, gateway: o.gateway, ipRange: o.ipRange }, { inUse: await this.subnetsInUse(), pool: this.options.subnetPool });
      const id = randomBytes(32).toString('hex');
      const bridge = o.options?.[bridgeNameOption] ?? `br-${id.slice(0, 12)}`;
      if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(bridge)) throw new InvalidArgumentError(`invalid bridge name "${bridge}": at most 15 characters of [a-zA-Z0-9_.-]`);
      if (this.store.networks().some((n) => n.BridgeName === bridge) || (await listLinks()).some((l) => l.name === bridge)) {
        throw new ConflictError(`bridge name "${bridge}" is already in use`);
      }
      const record: NetworkRecord = {
        ...baseRecord(o.name, id, 'bridge', [ipam]),
        Internal: o.internal ?? false,
        Attachable: o.attachable ?? false,
        Options: o.options ?? {},
        Labels: o.labels ?? {},
        BridgeName: bridge,
      };
      this.store.insertNetwork(record);
      try {
        await this.bringUp(record);
        await this.applyNat();
      } catch (err) {
        await this.takeDown(record).catch(() => {});
        this.store.deleteNetwork(id);
        throw err;
      }
      return record;
    });
  }

  /** `network ls` (filters: name, id, driver, label, type=custom|builtin), oldest first. */
  listNetworks(filters: Record<string, string[]> = {}): NetworkInspect[] {
    return this.store
      .networks()
      .filter((n) => matchesFilters(n, filters))
      .map((n) => this.view(n, false));
  }

  /** `network inspect`: Docker's shape with the running containers. NotFoundError `network x not found`. */
  inspectNetwork(idOrName: string): NetworkInspect {
    return this.view(this.resolveNetwork(idOrName), true);
  }

  /**
   * `network rm`. FailedPreconditionError for the predefined networks, ConflictError while a
   * container (running or not) is attached.
   */
  async removeNetwork(idOrName: string): Promise<void> {
    await this.serial(async () => {
      const n = this.resolveNetwork(idOrName);
      if (n.Predefined) throw new FailedPreconditionError(`${n.Name} is a pre-defined network and cannot be removed`);
      const users = this.store.endpoints({ networkId: n.Id });
      if (users.length > 0) {
        throw new ConflictError(
          `error while removing network: network ${n.Name} id ${n.Id} has active endpoints (${users.map((e) => e.ContainerName).join(', ')})`,
        );
      }
      await this.takeDown(n);
      this.store.deleteNetwork(n.Id);
      await this.applyNat();
    });
  }

  /** `network prune`: removes every user-defined network no container uses. @returns their names. */
  async pruneNetworks(filters: Record<string, string[]> = {}): Promise<string[]> {
    const removed: string[] = [];
    for (const n of this.store.networks()) {
      if (n.Predefined || !matchesFilters(n, filters) || this.store.endpoints({ networkId: n.Id }).length > 0) continue;
      try {
        await this.removeNetwork(n.Id);
        removed.push(n.Name);
      } catch (err) {
        if (!isBerthError(err)) throw err;
      }
    }
    return removed;
  }

  /**
   * `network connect`: attaches a container to a user-defined network; a running container gets
   * its interface at once, a stopped one at its next start. ConflictError when already attached.
   */
  async connect(network: string, container: string, o: { aliases?: string[]; ipv4Address?: string } = {}): Promise<void> {
    await this.serial(async () => {
      const n = this.resolveNetwork(network);
      const c = this.lookup().get(container);
      const sandbox = this.store.sandbox(c.id);
      if (!sandbox) throw new FailedPreconditionError(`container ${c.name} has no network settings (created before networking existed)`);
      if (n.Driver !== 'bridge') throw new InvalidArgumentError(`container cannot be disconnected from host network or connected to host network`);
      const mode = sandbox.NetworkMode;
      if (mode === 'host' || mode === 'none' || mode.startsWith('container:')) {
        throw new InvalidArgumentError(`container sharing network namespace with another container or host cannot be connected to any other network`);
      }
      if (this.store.endpoint(n.Id, c.id)) throw new ConflictError(`endpoint with name ${c.name} already exists in network ${n.Name}`);
      if ((o.aliases?.length || o.ipv4Address) && !isUserNetwork(n)) {
        throw new InvalidArgumentError('network-scoped alias and user specified IP address are supported only for containers in user defined networks');
      }
      if (o.ipv4Address) allocateAddress(n.IPAM.Config[0]!, new Set(), o.ipv4Address);
      const order = Math.max(-1, ...this.store.endpoints({ containerId: c.id }).map((e) => e.Order)) + 1;
      const endpoint = newEndpoint(n, c.id, c.name, order, o.aliases ?? [], o.ipv4Address);
      this.store.putEndpoint(endpoint);
      if (sandbox.Netns) {
        try {
          await this.plugEndpoint(sandbox, endpoint, { defaultRoute: false });
        } catch (err) {
          this.store.deleteEndpoint(n.Id, c.id);
          throw err;
        }
      }
    });
  }

  /** `network disconnect`. NotFoundError when the container is not attached to the network. */
  async disconnect(network: string, container: string, o: { force?: boolean } = {}): Promise<void> {
    await this.serial(async () => {
      const n = this.resolveNetwork(network);
      let id: string;
      try {
        id = this.lookup().get(container).id;
      } catch (err) {
        // `--force` also cleans up after a container that is gone.
        const stale = o.force ? this.store.endpoints({ networkId: n.Id }).find((e) => e.ContainerName === container || e.ContainerID === container) : undefined;
        if (!stale) throw err;
        id = stale.ContainerID;
      }
      const endpoint = this.store.endpoint(n.Id, id);
      if (!endpoint) throw new NotFoundError(`container ${container} is not connected to network ${n.Name}`);
      if (endpoint.HostVeth) await deleteLink(endpoint.HostVeth);
      this.store.deleteEndpoint(n.Id, id);
      const sandbox = this.store.sandbox(id);
      if (sandbox && sandbox.Ports.some((p) => p.containerIp === endpoint.IPAddress)) {
        sandbox.Ports = sandbox.Ports.filter((p) => p.containerIp !== endpoint.IPAddress);
        this.store.putSandbox(sandbox);
      }
      await this.applyNat();
    });
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
    return this.serial(async () => {
      const name = container.name.replace(/^\//, '');
      let mode = request.mode || 'default';
      if (mode === 'default') mode = 'bridge';
      const portBindings = parsePublishList(request.publish ?? []);
      const exposed = new Set([...(container.exposedPorts ?? []), ...(request.expose ?? []).flatMap(parseExpose), ...Object.keys(portBindings)]);
      for (const entry of request.extraHosts ?? []) parseExtraHost(entry, '0.0.0.0');
      for (const ns of request.dns ?? []) {
        if (tryParseIp(ns) === undefined) throw new InvalidArgumentError(`${ns} is not an ip address`);
      }
      if (request.macAddress && !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(request.macAddress)) {
        throw new InvalidArgumentError(`${request.macAddress} is not a valid mac address`);
      }
      let network: NetworkRecord | undefined;
      if (mode.startsWith('container:')) {
        const target = this.lookup().get(mode.slice('container:'.length));
        if (target.id === container.id) throw new InvalidArgumentError('cannot join own network namespace');
        mode = `container:${target.id}`;
      } else if (mode !== 'host' && mode !== 'none') {
        network = this.resolveNetwork(mode);
        if (network.Driver === 'host') mode = 'host';
        else if (network.Driver === 'null') mode = 'none';
        else mode = network.Name;
      }
      const shared = mode === 'host' || mode === 'none' || mode.startsWith('container:');
      if (shared) {
        network = undefined;
        if (Object.keys(portBindings).length > 0 && mode !== 'host') {
          throw new InvalidArgumentError('conflicting options: port publishing and the container type network mode');
        }
        if (mode.startsWith('container:') && (request.dns?.length || request.extraHosts?.length || request.macAddress)) {
          throw new InvalidArgumentError('conflicting options: dns, add-host and mac-address cannot be used with the container network mode');
        }
      }
      if (network && !isUserNetwork(network)) {
        if (request.aliases?.length) throw new InvalidArgumentError('network-scoped alias is supported only for containers in user defined networks');
        if (request.ipv4Address) throw new InvalidArgumentError('user specified IP address is supported on user defined networks only');
      } else if (!network && (request.aliases?.length || request.ipv4Address)) {
        throw new InvalidArgumentError('network-scoped alias and user specified IP address are supported only for containers in user defined networks');
      }
      if (network && request.ipv4Address) allocateAddress(network.IPAM.Config[0]!, new Set(), request.ipv4Address);
      const sandbox: SandboxRecord = {
        ContainerID: container.id,
        ContainerName: name,
        NetworkMode: mode,
        PortBindings: mode === 'host' ? {} : portBindings,
        PublishAllPorts: request.publishAll ?? false,
        ExposedPorts: [...exposed],
        Dns: request.dns ?? [],
        DnsSearch: request.dnsSearch ?? [],
        DnsOptions: request.dnsOptions ?? [],
        ExtraHosts: request.extraHosts ?? [],
        MacAddress: request.macAddress ?? '',
        Ports: [],
      };
      this.store.putSandbox(sandbox);
      if (network) this.store.putEndpoint(newEndpoint(network, container.id, name, 0, request.aliases ?? [], request.ipv4Address));
      return { networkMode: mode, exposedPorts: sandbox.ExposedPorts };
    });
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
    return this.serial(async () => {
      const sandbox = this.store.sandbox(container.id);
      if (!sandbox) return { namespace: 'new' };
      try {
        return await this.startSandbox(sandbox, container);
      } catch (err) {
        await this.stopSandbox(container.id).catch(() => {});
        throw err;
      }
    });
  }

  /** After the container's exit: unpublishes its ports, frees its addresses, deletes its netns. Idempotent. */
  async stop(containerId: string): Promise<void> {
    await this.serial(() => this.stopSandbox(containerId));
  }

  /** When the container is removed: `stop` plus forgetting its settings and endpoints. */
  async remove(containerId: string): Promise<void> {
    await this.serial(async () => {
      await this.stopSandbox(containerId);
      this.store.deleteContainer(containerId);
    });
  }

  /** The HostConfig fields and NetworkSettings of container inspect; undefined without settings. */
  inspect(containerId: string): { HostConfig: Record<string, unknown>; NetworkSettings: Record<string, unknown> } | undefined {
    const sandbox = this.store.sandbox(containerId);
    if (!sandbox) return undefined;
    const networks = this.endpointViews(containerId);
    const primary = sandbox.NetworkMode === 'bridge' ? networks.bridge : undefined;
    const ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null> = {};
    if (sandbox.Netns !== undefined || sandbox.NetworkMode === 'host') {
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
        SandboxID: sandbox.Netns ? containerId : '',
        SandboxKey: sandbox.Netns ? netnsPath(sandbox.Netns) : '',
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

  /** The `ps` view: published (and exposed) ports while running, and the networks. */
  summary(containerId: string): { Ports: SummaryPort[]; Networks: Record<string, unknown>; NetworkMode: string } | undefined {
    const sandbox = this.store.sandbox(containerId);
    if (!sandbox) return undefined;
    const ports: SummaryPort[] = [];
    if (sandbox.Netns !== undefined || sandbox.NetworkMode === 'host') {
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
    return { Ports: ports, Networks: this.endpointViews(containerId), NetworkMode: sandbox.NetworkMode };
  }

  // ---- lifecycle --------------------------------------------------------------------------------

  /**
   * After the container manager reconciled its containers: deletes tagged links and namespaces that
   * no running container needs, forgets settings of containers that no longer exist, and rebuilds
   * the rules. Safe to call at any time.
   */
  async sweep(): Promise<void> {
    await this.serial(async () => {
      for (const sandbox of this.store.sandboxes()) {
        let exists = true;
        try {
          this.lookup().get(sandbox.ContainerID);
        } catch (err) {
          if (!(err instanceof NotFoundError)) throw err;
          exists = false;
        }
        if (!exists) {
          await this.stopSandbox(sandbox.ContainerID);
          this.store.deleteContainer(sandbox.ContainerID);
        }
      }
      await this.sweepHost({ keepBridges: true });
      await this.applyNat();
    });
  }

  /**
   * Stops the DNS servers. When no container runs, every host object of this agent (bridges,
   * rules) goes too; otherwise they stay for the running containers and the next `open` adopts them.
   */
  async close(): Promise<void> {
    await this.serial(async () => {
      await Promise.all([...this.dnsServers.values()].map((s) => s.close()));
      this.dnsServers.clear();
      if (this.store.sandboxes().some((s) => s.Netns !== undefined)) return;
      for (const n of this.store.networks()) await this.takeDown(n).catch((err) => this.log(`Cannot remove bridge ${n.BridgeName}: ${messageOf(err)}`));
      await this.sweepHost({ keepBridges: false });
      await removeRules(this.options.tag);
    });
  }

  // ---- internals --------------------------------------------------------------------------------

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  private lookup(): ContainerLookup {
    if (!this.containers) throw new FailedPreconditionError('The network manager has no container lookup yet');
    return this.containers;
  }

  private get aliasPrefix(): string {
    return `berth:${this.options.tag}`;
  }

  private netnsName(containerId: string): string {
    return `berth-${this.options.tag}-${containerId.slice(0, 12)}`;
  }

  private async setUp(): Promise<void> {
    setSysctl('net/ipv4/ip_forward', '1');
    await this.ensurePredefined();
    for (const n of this.store.networks()) {
      try {
        await this.bringUp(n);
      } catch (err) {
        this.log(`Cannot set up network ${n.Name}: ${messageOf(err)}`);
      }
    }
    await this.applyNat();
  }

  /** The `bridge`, `host` and `none` networks; `bridge` gets a free bridge name and subnet once. */
  private async ensurePredefined(): Promise<void> {
    if (!this.store.networkByName('host')) this.store.insertNetwork({ ...baseRecord('host', randomId(), 'host', []), Predefined: true });
    if (!this.store.networkByName('none')) this.store.insertNetwork({ ...baseRecord('none', randomId(), 'null', []), Predefined: true });
    const existing = this.store.networkByName('bridge');
    const links = await listLinks();
    const foreign = (name: string) => links.some((l) => l.name === name && !l.alias.startsWith(this.aliasPrefix));
    if (existing) {
      // Keep it unless another owner took its bridge name or subnet while this agent was away
      // (its own bridge is gone then: `close` removes it when no container runs).
      const busy = this.store.endpoints({ networkId: existing.Id }).some((e) => e.IPAddress);
      const subnet = parseCidr(existing.IPAM.Config[0]!.Subnet);
      const taken = foreign(existing.BridgeName!) || (await this.foreignRoutes(links)).some((r) => overlaps(r, subnet));
      if (busy || !taken) return;
      this.log(`Default bridge ${existing.BridgeName} (${existing.IPAM.Config[0]!.Subnet}) is taken on this host: choosing another`);
    }
    let bridge = 'berth0';
    for (let i = 1; foreign(bridge) || this.store.networks().some((n) => n.BridgeName === bridge); i++) bridge = `berth${i}`;
    const inUse = (await this.subnetsInUse()).filter((c) => !existing || formatCidr(c) !== existing.IPAM.Config[0]!.Subnet);
    const ipam = planIpam({}, { inUse, pool: this.options.defaultBridgeSubnets ?? defaultBridgeSubnets });
    const record: NetworkRecord = {
      ...baseRecord('bridge', existing?.Id ?? randomId(), 'bridge', [ipam]),
      Options: {
        'com.docker.network.bridge.default_bridge': 'true',
        'com.docker.network.bridge.enable_icc': 'true',
        'com.docker.network.bridge.enable_ip_masquerade': 'true',
        'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
        [bridgeNameOption]: bridge,
      },
      BridgeName: bridge,
      Predefined: true,
    };
    if (existing) this.store.updateNetwork(record);
    else this.store.insertNetwork(record);
  }

  /** Subnets of the other networks and of host routes that are not ours (for IPAM). */
  private async subnetsInUse(): Promise<Cidr[]> {
    const ours = this.store.networks().flatMap((n) => n.IPAM.Config.map((c) => parseCidr(c.Subnet)));
    return [...ours, ...(await this.foreignRoutes(await listLinks()))];
  }

  private async foreignRoutes(links: Array<{ name: string; alias: string }>): Promise<Cidr[]> {
    const ourDevices = new Set(links.filter((l) => l.alias.startsWith(this.aliasPrefix)).map((l) => l.name));
    const routes = JSON.parse((await mustExec('ip', ['-j', '-4', 'route', 'show'])) || '[]') as Array<{ dst: string; dev?: string }>;
    const result: Cidr[] = [];
    for (const r of routes) {
      if (r.dst === 'default' || (r.dev && ourDevices.has(r.dev))) continue;
      try {
        result.push(parseCidr(r.dst.includes('/') ? r.dst : `${r.dst}/32`));
      } catch {
        // not an IPv4 prefix
      }
    }
    return result;
  }

  /** Creates the bridge of a network and, for user networks, its DNS server. */
  private async bringUp(n: NetworkRecord): Promise<void> {
    if (n.Driver !== 'bridge') return;
    const ipam = n.IPAM.Config[0]!;
    await ensureBridge(n.BridgeName!, `${ipam.Gateway}/${prefixLength(ipam)}`, `${this.aliasPrefix}:net:${n.Id.slice(0, 12)}`);
    if (isUserNetwork(n) && !this.dnsServers.has(n.Id)) {
      try {
        this.dnsServers.set(n.Id, await DnsServer.listen(ipam.Gateway, 53, this.resolverFor(n.Id)));
      } catch (err) {
        this.log(`Cannot start the DNS server of network ${n.Name} on ${ipam.Gateway}:53: ${messageOf(err)}`);
      }
    }
  }

  private async takeDown(n: NetworkRecord): Promise<void> {
    const dns = this.dnsServers.get(n.Id);
    this.dnsServers.delete(n.Id);
    await dns?.close();
    if (n.Driver === 'bridge' && n.BridgeName) await deleteLink(n.BridgeName);
  }

  /** Deletes tagged veths, bridges and netns that the state does not account for. */
  private async sweepHost(o: { keepBridges: boolean }): Promise<void> {
    const bridges = new Set(o.keepBridges ? this.store.networks().map((n) => n.BridgeName).filter(Boolean) : []);
    const veths = new Set(this.store.endpoints().map((e) => e.HostVeth).filter(Boolean));
    for (const link of await listLinks()) {
      if (!link.alias.startsWith(`${this.aliasPrefix}:`)) continue;
      const wanted = link.kind === 'bridge' ? bridges.has(link.name) : veths.has(link.name);
      if (!wanted) await deleteLink(link.name).catch((err) => this.log(`Cannot delete ${link.name}: ${messageOf(err)}`));
    }
    const namespaces = new Set(this.store.sandboxes().map((s) => s.Netns).filter(Boolean));
    for (const ns of listNetns()) {
      if (ns.startsWith(`berth-${this.options.tag}-`) && !namespaces.has(ns)) {
        await deleteNetns(ns).catch((err) => this.log(`Cannot delete netns ${ns}: ${messageOf(err)}`));
      }
    }
  }

  private async startSandbox(sandbox: SandboxRecord, c: { id: string; hostname: string; domainname?: string }): Promise<ContainerSandbox> {
    const hostResolv = readText(this.options.hostResolvConf ?? '/etc/resolv.conf');
    const mode = sandbox.NetworkMode;
    const defaultGateway = this.store.networkByName('bridge')?.IPAM.Config[0]?.Gateway;
    const extraHosts = sandbox.ExtraHosts.map((e) => parseExtraHost(e, defaultGateway));
    if (mode === 'host') {
      return {
        namespace: 'host',
        hosts: hostHostsFile(readText('/etc/hosts'), extraHosts),
        resolvConf: sandbox.Dns.length || sandbox.DnsSearch.length || sandbox.DnsOptions.length ? resolvConf(hostResolv, dnsOf(sandbox)) : hostResolv,
      };
    }
    if (mode.startsWith('container:')) {
      const target = this.lookup().get(mode.slice('container:'.length));
      if (!target.running || target.pid <= 0) {
        throw new FailedPreconditionError(`cannot join network namespace of a non running container: ${target.name.replace(/^\//, '')}`);
      }
      return { namespace: { path: `/proc/${target.pid}/ns/net` }, hosts: readText(target.hostsPath), resolvConf: readText(target.resolvConfPath) };
    }
    const netns = this.netnsName(sandbox.ContainerID);
    await createNetns(netns);
    sandbox.Netns = netns;
    sandbox.Ports = [];
    this.store.putSandbox(sandbox);
    const endpoints = this.store.endpoints({ containerId: sandbox.ContainerID });
    let first: { endpoint: EndpointRecord; network: NetworkRecord } | undefined;
    let routed = false;
    for (const endpoint of endpoints) {
      const network = this.store.network(endpoint.NetworkID);
      if (!network) continue;
      const plugged = await this.plugEndpoint(sandbox, endpoint, { defaultRoute: !routed && !network.Internal });
      if (!network.Internal) routed = true;
      first ??= { endpoint: plugged, network };
    }
    const publishTo = endpoints.map((e) => this.store.endpoint(e.NetworkID, e.ContainerID)!).find((e) => !this.store.network(e.NetworkID)?.Internal);
    if (publishTo) {
      sandbox.Ports = await this.allocatePorts(sandbox, publishTo.IPAddress);
      this.store.putSandbox(sandbox);
    }
    await this.applyNat();
    return {
      namespace: { path: netnsPath(netns) },
      hosts: hostsFile({ hostname: c.hostname, domainname: c.domainname, ip: first?.endpoint.IPAddress, extraHosts }),
      resolvConf: resolvConf(hostResolv, {
        ...dnsOf(sandbox),
        embeddedDns: first && isUserNetwork(first.network) ? first.network.IPAM.Config[0]!.Gateway : undefined,
      }),
    };
  }

  /** Allocates an address and plugs a veth of `endpoint`'s network into the sandbox's netns. */
  private async plugEndpoint(sandbox: SandboxRecord, endpoint: EndpointRecord, o: { defaultRoute: boolean }): Promise<EndpointRecord> {
    const network = this.store.network(endpoint.NetworkID);
    if (!network) throw new NotFoundError(`network ${endpoint.NetworkID} not found`);
    const ipam = network.IPAM.Config[0]!;
    const used = this.store.usedAddresses(network.Id);
    used.delete(endpoint.IPAddress);
    const ip = allocateAddress(ipam, used, endpoint.IPAMConfig?.IPv4Address);
    const others = this.store.endpoints({ containerId: sandbox.ContainerID }).filter((e) => e.HostVeth && e.NetworkID !== network.Id);
    const ifIndex = Math.max(-1, ...others.map((e) => Number(e.Interface.replace('eth', '')))) + 1;
    const mac = endpoint.Order === 0 && sandbox.MacAddress ? sandbox.MacAddress : macFor(ip);
    const hostVeth = `veth${randomBytes(4).toString('hex').slice(0, 7)}`;
    const updated: EndpointRecord = { ...endpoint, IPAddress: ip, MacAddress: mac, HostVeth: hostVeth, Interface: `eth${ifIndex}` };
    try {
      // Claim the address first: the unique (network, ip) index refuses a concurrent duplicate.
      this.store.putEndpoint(updated);
    } catch (err) {
      throw new ConflictError(`Address already in use: "${ip}"`, { cause: err });
    }
    try {
      await addVeth({
        hostName: hostVeth,
        alias: `${this.aliasPrefix}:${sandbox.ContainerID.slice(0, 12)}`,
        bridge: network.BridgeName!,
        netns: sandbox.Netns!,
        ifName: updated.Interface,
        mac,
        address: `${ip}/${prefixLength(ipam)}`,
        gateway: o.defaultRoute ? ipam.Gateway : undefined,
      });
    } catch (err) {
      this.store.putEndpoint({ ...endpoint, IPAddress: '', HostVeth: '', MacAddress: '', Interface: '' });
      throw err;
    }
    return updated;
  }

  private async stopSandbox(containerId: string): Promise<void> {
    const sandbox = this.store.sandbox(containerId);
    if (!sandbox) return;
    for (const endpoint of this.store.endpoints({ containerId })) {
      if (endpoint.HostVeth) await deleteLink(endpoint.HostVeth).catch(() => {});
      if (endpoint.IPAddress || endpoint.HostVeth) {
        this.store.putEndpoint({ ...endpoint, IPAddress: '', MacAddress: '', HostVeth: '', Interface: '' });
      }
    }
    const hadPorts = sandbox.Ports.length > 0;
    if (sandbox.Netns) await deleteNetns(sandbox.Netns);
    if (sandbox.Netns || hadPorts) {
      delete sandbox.Netns;
      sandbox.Ports = [];
      this.store.putSandbox(sandbox);
      await this.applyNat();
    }
  }

  /**
   * Host ports for the container's bindings (and, with `-P`, every exposed port): fixed ones are
   * checked, `""` and ranges get a free port (Docker's 49153–65535). A port held by another
   * container or by any socket on the host is a ConflictError with Docker's wording.
   */
  private async allocatePorts(sandbox: SandboxRecord, containerIp: string): Promise<ActivePort[]> {
    const bindings: PortMap = structuredClone(sandbox.PortBindings);
    if (sandbox.PublishAllPorts) {
      for (const key of sandbox.ExposedPorts) bindings[key] ??= [{ HostIp: '', HostPort: '' }];
    }
    const taken = this.store
      .sandboxes()
      .filter((s) => s.ContainerID !== sandbox.ContainerID)
      .flatMap((s) => s.Ports);
    const result: ActivePort[] = [];
    const clash = (proto: string, ip: string, port: number) =>
      [...taken, ...result].some((p) => splitPortKey(p.key)[1] === proto && p.hostPort === port && (p.hostIp === '0.0.0.0' || ip === '0.0.0.0' || p.hostIp === ip));
    for (const key of Object.keys(bindings).sort((a, b) => splitPortKey(a)[0] - splitPortKey(b)[0])) {
      const [, proto] = splitPortKey(key);
      for (const binding of bindings[key]!) {
        const hostIp = binding.HostIp || '0.0.0.0';
        let port: number | undefined;
        if (/^\d+$/.test(binding.HostPort)) {
          port = Number(binding.HostPort);
          const problem = clash(proto, hostIp, port) ? 'EADDRINUSE' : await bindError(proto, hostIp, port);
          if (problem === 'EADDRINUSE') {
            throw new ConflictError(`Bind for ${hostIp}:${port} failed: port is already allocated`, { code: 'PORT_ALLOCATED' });
          }
          if (problem) throw new InvalidArgumentError(`Bind for ${hostIp}:${port} failed: ${problem}`);
        } else {
          const [first, last] = binding.HostPort ? binding.HostPort.split('-').map(Number) as [number, number] : [ephemeralPortRange.first, ephemeralPortRange.last];
          const span = last - first + 1;
          const offset = binding.HostPort ? 0 : Math.floor(Math.random() * span);
          for (let i = 0; i < span && port === undefined; i++) {
            const candidate = first + ((offset + i) % span);
            if (!clash(proto, hostIp, candidate) && (await bindError(proto, hostIp, candidate)) === undefined) port = candidate;
          }
          if (port === undefined) {
            throw new ConflictError(`Bind for ${hostIp}:${binding.HostPort || `${first}-${last}`} failed: no free port in the range`, { code: 'PORT_ALLOCATED' });
          }
        }
        result.push({ key, hostIp, hostPort: port, containerIp });
      }
    }
    return result;
  }

  private async applyNat(): Promise<void> {
    const state: NatState = { networks: [], ports: [] };
    for (const n of this.store.networks()) {
      if (n.Driver !== 'bridge' || !n.BridgeName) continue;
      state.networks.push({ bridge: n.BridgeName, subnet: n.IPAM.Config[0]!.Subnet, internal: n.Internal });
    }
    for (const s of this.store.sandboxes()) {
      for (const p of s.Ports) {
        const [containerPort, proto] = splitPortKey(p.key);
        state.ports.push({ proto, hostIp: p.hostIp, hostPort: p.hostPort, containerIp: p.containerIp, containerPort });
      }
    }
    await applyRules(this.options.tag, state);
  }

  /** Answers DNS for the containers of one network. */
  private resolverFor(networkId: string) {
    return {
      lookup: (name: string): string[] | undefined => {
        const network = this.store.network(networkId);
        if (!network) return undefined;
        const suffix = `.${network.Name.toLowerCase()}`;
        const bare = name.endsWith(suffix) ? name.slice(0, -suffix.length) : name;
        const matches = this.store
          .endpoints({ networkId })
          .filter((e) => e.IPAddress)
          .filter(
            (e) =>
              this.currentName(e).toLowerCase() === bare ||
              e.Aliases.some((a) => a.toLowerCase() === bare) ||
              (bare.length >= 12 && e.ContainerID.startsWith(bare)),
          );
        // A name several containers answer to (a service's replicas) resolves to the ones that
        // serve: healthy, or without a healthcheck. Replicas still starting or unhealthy (a rolling
        // update's new one) get traffic only when no replica serves.
        const serving = matches.length > 1 ? matches.filter((e) => this.serves(e.ContainerID)) : matches;
        const addresses = (serving.length > 0 ? serving : matches).map((e) => e.IPAddress);
        return addresses.length > 0 ? addresses : undefined;
      },
      upstreams: (client: string): string[] => {
        const network = this.store.network(networkId);
        if (!network || network.Internal) return [];
        const endpoint = this.store.endpoints({ networkId }).find((e) => e.IPAddress === client);
        const sandbox = endpoint ? this.store.sandbox(endpoint.ContainerID) : undefined;
        if (sandbox && sandbox.Dns.length > 0) return sandbox.Dns;
        return hostNameservers(readText(this.options.hostResolvConf ?? '/etc/resolv.conf'));
      },
    };
  }

  /** Whether a running container serves: healthy, or without a healthcheck. */
  private serves(containerId: string): boolean {
    try {
      const health = this.containers?.get(containerId).health;
      return health === undefined || health === 'healthy';
    } catch {
      return false;
    }
  }

  /** The container's name now (it may have been renamed since it joined), without the slash. */
  private currentName(e: EndpointRecord): string {
    try {
      return this.containers?.get(e.ContainerID).name.replace(/^\//, '') ?? e.ContainerName;
    } catch {
      return e.ContainerName;
    }
  }

  private resolveNetwork(idOrName: string): NetworkRecord {
    const byName = this.store.networkByName(idOrName);
    if (byName) return byName;
    if (/^[0-9a-f]+$/.test(idOrName)) {
      const ids = this.store.networkIdsByPrefix(idOrName);
      if (ids.length === 1) return this.store.network(ids[0]!)!;
      if (ids.length > 1) throw new InvalidArgumentError(`network ${idOrName} is ambiguous (${ids.length} matches found based on ID prefix)`);
    }
    throw new NotFoundError(`network ${idOrName} not found`, { code: 'NO_SUCH_NETWORK' });
  }

  /** Docker's EndpointSettings of each network the container is attached to, by network name. */
  private endpointViews(containerId: string): Record<string, EndpointView> {
    const views: Record<string, EndpointView> = {};
    for (const e of this.store.endpoints({ containerId })) {
      const n = this.store.network(e.NetworkID);
      if (!n) continue;
      const ipam = n.IPAM.Config[0];
      views[n.Name] = {
        IPAMConfig: e.IPAMConfig,
        Links: null,
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

  private view(n: NetworkRecord, withContainers: boolean): NetworkInspect {
    const { BridgeName: _bridge, Predefined: _predefined, ...rest } = n;
    const containers: NetworkInspect['Containers'] = {};
    if (withContainers) {
      const ipam = n.IPAM.Config[0];
      for (const e of this.store.endpoints({ networkId: n.Id })) {
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
}

interface EndpointView {
  IPAMConfig: EndpointRecord['IPAMConfig'];
  Links: null;
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

/** User-defined bridge networks get DNS, aliases and static addresses; the default `bridge` does not. */
function isUserNetwork(n: NetworkRecord): boolean {
  return n.Driver === 'bridge' && !n.Predefined;
}

function randomId(): string {
  return randomBytes(32).toString('hex');
}

function baseRecord(name: string, id: string, driver: NetworkRecord['Driver'], config: IpamConfig[]): NetworkRecord {
  return {
    Name: name,
    Id: id,
    Created: new Date().toISOString(),
    Scope: 'local',
    Driver: driver,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: {}, Config: config },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Options: {},
    Labels: {},
  };
}

function newEndpoint(n: NetworkRecord, containerId: string, name: string, order: number, aliases: string[], ip?: string): EndpointRecord {
  return {
    NetworkID: n.Id,
    ContainerID: containerId,
    ContainerName: name.replace(/^\//, ''),
    EndpointID: randomId(),
    Aliases: aliases,
    IPAMConfig: ip ? { IPv4Address: ip } : null,
    Order: order,
    IPAddress: '',
    MacAddress: '',
    HostVeth: '',
    Interface: '',
  };
}

/** Docker's MAC for an address: 02:42 followed by the four bytes of the IPv4 address. */
function macFor(ip: string): string {
  return ['02', '42', ...ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0'))].join(':');
}

function dnsOf(s: SandboxRecord): { dns: string[]; dnsSearch: string[]; dnsOptions: string[] } {
  return { dns: s.Dns, dnsSearch: s.DnsSearch, dnsOptions: s.DnsOptions };
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function hostHostsFile(hostHosts: string, extra: Array<[string, string]>): string {
  const base = hostHosts.endsWith('\n') || hostHosts === '' ? hostHosts : `${hostHosts}\n`;
  return base + extra.map(([host, ip]) => `${ip}\t${host}\n`).join('');
}

/** Why a socket could not bind `ip:port` right now (`EADDRINUSE`, ...), undefined when it could. */
async function bindError(proto: string, ip: string, port: number): Promise<string | undefined> {
  const code = (err: Error) => (err as NodeJS.ErrnoException).code ?? err.message;
  if (proto === 'udp') {
    const socket = createSocket('udp4');
    return new Promise((resolve) => {
      socket.once('error', (err) => {
        socket.close();
        resolve(code(err));
      });
      socket.bind(port, ip, () => socket.close(() => resolve(undefined)));
    });
  }
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', (err) => resolve(code(err)));
    server.listen({ port, host: ip, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

function matchesFilters(n: NetworkRecord, filters: Record<string, string[]>): boolean {
  for (const [key, values] of Object.entries(filters)) {
    if (values.length === 0) continue;
    const ok = values.some((value) => {
      switch (key) {
        case 'name':
          return n.Name.includes(value);
        case 'id':
          return n.Id.startsWith(value);
        case 'driver':
          return n.Driver === value;
        case 'type':
          return value === 'builtin' ? Boolean(n.Predefined) : value === 'custom' ? !n.Predefined : false;
        case 'label': {
          const eq = value.indexOf('=');
          return eq < 0 ? value in n.Labels : n.Labels[value.slice(0, eq)] === value.slice(eq + 1);
        }
        case 'scope':
          return value === 'local';
        default:
          throw new InvalidArgumentError(`invalid filter '${key}'`);
      }
    });
    if (!ok) return false;
  }
  return true;
}
