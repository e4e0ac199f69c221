import { randomBytes } from 'node:crypto';
import { ConflictError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@berth/errors';
import { hostModeHostsFile, hostsFile, parseExtraHost, readHostFile, resolvConf } from './container-files.js';
import { addVeth, createNetns, deleteHostObjects, deleteLink, netnsPath } from './host-links.js';
import { normalizeEndpointLinks } from './endpoint-links.js';
import { allocateAddress, prefixLength } from './ipam.js';
import { tryParseIp } from './ipv4.js';
import type { NetworkCatalogue } from './network-catalogue.js';
import type { NetworkContext } from './network-context.js';
import type { ConnectOptions, ContainerNetworkRequest, ContainerSandbox } from './network-options.js';
import type { PortPublisher } from './port-publishing.js';
import { parseExpose, parsePublishList } from './port-spec.js';
import type { OverlayNetworks } from './overlay-networks.js';
import { hasBridge, isUserNetwork, type EndpointRecord, type NetworkRecord, type SandboxRecord } from './types.js';

/**
 * Containers' network sandboxes: the settings recorded at create (SandboxRecord, one EndpointRecord
 * per network), and while a container runs its named netns (`berth-<tag>-<id12>`) with one veth
 * per network, an address from the network's IPAM, the default route through the first
 * non-internal network, its published ports, and the /etc/hosts and resolv.conf it starts with.
 */
export class Sandboxes {
  constructor(
    private readonly ctx: NetworkContext,
    private readonly networks: NetworkCatalogue,
    private readonly nat: PortPublisher,
    private readonly hostResolvConf: string,
    private readonly overlay: OverlayNetworks,
  ) {}

  /**
   * At container create: validates the request, resolves the network and records the container's
   * settings and endpoint (no host objects yet). @returns Docker's HostConfig.NetworkMode and every
   * exposed port key (the image's, `--expose`, `-p`).
   */
  create(container: { id: string; name: string; exposedPorts?: string[] }, request: ContainerNetworkRequest): { networkMode: string; exposedPorts: string[] } {
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
      const target = this.ctx.lookup().get(mode.slice('container:'.length));
      if (target.id === container.id) throw new InvalidArgumentError('cannot join own network namespace');
      mode = `container:${target.id}`;
    } else if (mode !== 'host' && mode !== 'none') {
      network = this.networks.resolve(mode);
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
    if (request.links?.length && !(network && isUserNetwork(network))) {
      throw new InvalidArgumentError('network links are supported only for containers in user defined networks');
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
    this.ctx.store.putSandbox(sandbox);
    const links = normalizeEndpointLinks(request.links ?? []);
    if (network) this.ctx.store.putEndpoint(newEndpoint(network, container.id, name, 0, { aliases: request.aliases ?? [], links, ip: request.ipv4Address }));
    return { networkMode: mode, exposedPorts: sandbox.ExposedPorts };
  }

  /**
   * Before the runtime creates the container: its namespace, plugged into its networks, with its
   * ports published. A failure undoes everything it did. A container without settings (older than
   * networking) gets a private namespace and keeps its files.
   */
  async start(container: { id: string; hostname: string; domainname?: string }): Promise<ContainerSandbox> {
    const sandbox = this.ctx.store.sandbox(container.id);
    if (!sandbox) return { namespace: 'new' };
    try {
      const started = await this.startSandbox(sandbox, container);
      this.announce('connect', container.id);
      return started;
    } catch (err) {
      await this.stop(container.id).catch((cleanup) => this.ctx.log.warn({ container: container.id, err: cleanup }, 'Cannot undo the failed network start'));
      throw err;
    }
  }

  /** Unpublishes the container's ports, frees its addresses and deletes its netns. Idempotent. */
  async stop(containerId: string): Promise<void> {
    const failed = await this.stopMany([containerId]);
    if (failed.has(containerId)) throw failed.get(containerId);
  }

  /**
   * `stop` of several containers at once (containers that exited together, `compose down`): their
   * links and namespaces go in one `ip` process, their rules in one update. @returns the
   * containers that could not be stopped, with why (the others are stopped).
   */
  async stopMany(containerIds: string[]): Promise<Map<string, unknown>> {
    const store = this.ctx.store;
    const links: string[] = [];
    const netnsOf = new Map<string, SandboxRecord>();
    let rules = false;
    for (const containerId of containerIds) {
      const sandbox = store.sandbox(containerId);
      if (!sandbox) continue;
      if (sandbox.Started) this.announce('disconnect', containerId);
      for (const endpoint of store.endpoints({ containerId })) {
        if (endpoint.HostVeth) links.push(endpoint.HostVeth);
        if (endpoint.IPAddress && store.network(endpoint.NetworkID)?.Driver === 'overlay') await this.overlay.release(endpoint.NetworkID, endpoint.IPAddress);
        if (endpoint.IPAddress || endpoint.HostVeth) store.putEndpoint({ ...endpoint, IPAddress: '', MacAddress: '', HostVeth: '', Interface: '' });
      }
      if (sandbox.Netns) netnsOf.set(sandbox.Netns, sandbox);
      if (sandbox.Netns !== undefined || sandbox.Ports.length > 0) rules = true;
      if (sandbox.Started || sandbox.Ports.length > 0) {
        delete sandbox.Started;
        sandbox.Ports = [];
        store.putSandbox(sandbox);
      }
    }
    // The veths die with their netns anyway: a link that cannot be deleted only delays that.
    const failedNetns = await deleteHostObjects({ links, netns: [...netnsOf.keys()] });
    const failed = new Map<string, unknown>();
    for (const [netns, sandbox] of netnsOf) {
      const err = failedNetns.get(netns);
      if (err !== undefined) {
        failed.set(sandbox.ContainerID, err); // the netns stays recorded: a later stop or the sweep retries
        continue;
      }
      delete sandbox.Netns;
      store.putSandbox(sandbox);
    }
    if (rules) {
      try {
        await this.nat.apply();
      } catch (err) {
        for (const id of containerIds) if (!failed.has(id)) failed.set(id, err);
      }
    }
    return failed;
  }

  /**
   * Docker's `connect` (after a start) or `disconnect` (at a stop) for every network the container
   * is plugged into: its endpoints with an interface, or the predefined `host` / `none` network it
   * shares. A `container:` namespace has no endpoint, and so no event. Marks the sandbox started
   * (connect) so that a stop, and only one, announces the disconnects.
   */
  private announce(action: 'connect' | 'disconnect', containerId: string): void {
    const store = this.ctx.store;
    const sandbox = store.sandbox(containerId);
    if (!sandbox) return;
    const mode = sandbox.NetworkMode;
    const networks =
      mode === 'host' || mode === 'none'
        ? [store.networkByName(mode)]
        : store
            .endpoints({ containerId })
            .filter((e) => e.HostVeth)
            .map((e) => store.network(e.NetworkID));
    for (const n of networks) if (n && !mode.startsWith('container:')) this.ctx.emit(action, n, { container: containerId });
    if (action === 'connect') {
      sandbox.Started = true;
      store.putSandbox(sandbox);
    }
  }

  /** `stop` plus forgetting the container's settings and endpoints. */
  async remove(containerId: string): Promise<void> {
    await this.stop(containerId);
    this.ctx.store.deleteContainer(containerId);
  }

  /** `stop`s and `remove`s that were queued together, in one go (stopMany). @returns the ones that failed, with why. */
  async settle(requests: Array<{ containerId: string; remove: boolean }>): Promise<Map<string, unknown>> {
    const failed = await this.stopMany([...new Set(requests.map((r) => r.containerId))]);
    for (const r of requests) if (r.remove && !failed.has(r.containerId)) this.ctx.store.deleteContainer(r.containerId);
    return failed;
  }

  /**
   * `network connect`: a running container gets its interface at once, a stopped one at its next
   * start. ConflictError when already attached.
   */
  async connect(network: string, container: string, o: ConnectOptions = {}): Promise<void> {
    const store = this.ctx.store;
    const n = this.networks.resolve(network);
    const c = this.ctx.lookup().get(container);
    const sandbox = store.sandbox(c.id);
    if (!sandbox) throw new FailedPreconditionError(`container ${c.name} has no network settings (created before networking existed)`);
    if (!hasBridge(n)) throw new InvalidArgumentError(`container cannot be disconnected from host network or connected to host network`);
    const mode = sandbox.NetworkMode;
    if (mode === 'host' || mode === 'none' || mode.startsWith('container:')) {
      throw new InvalidArgumentError(`container sharing network namespace with another container or host cannot be connected to any other network`);
    }
    if (store.endpoint(n.Id, c.id)) throw new ConflictError(`endpoint with name ${c.name} already exists in network ${n.Name}`);
    if ((o.aliases?.length || o.ipv4Address || o.links?.length) && !isUserNetwork(n)) {
      throw new InvalidArgumentError('network-scoped alias and user specified IP address are supported only for containers in user defined networks');
    }
    if (o.ipv4Address) allocateAddress(n.IPAM.Config[0]!, new Set(), o.ipv4Address);
    const order = Math.max(-1, ...store.endpoints({ containerId: c.id }).map((e) => e.Order)) + 1;
    const endpoint = newEndpoint(n, c.id, c.name, order, { aliases: o.aliases ?? [], links: normalizeEndpointLinks(o.links ?? []), ip: o.ipv4Address });
    store.putEndpoint(endpoint);
    if (sandbox.Netns) {
      try {
        await this.plugEndpoint(sandbox, endpoint, { defaultRoute: false });
      } catch (err) {
        store.deleteEndpoint(n.Id, c.id);
        throw err;
      }
      this.ctx.emit('connect', n, { container: c.id });
    }
  }

  /** `network disconnect`. NotFoundError when the container is not attached to the network. */
  async disconnect(network: string, container: string, o: { force?: boolean } = {}): Promise<void> {
    const store = this.ctx.store;
    const n = this.networks.resolve(network);
    let id: string;
    try {
      id = this.ctx.lookup().get(container).id;
    } catch (err) {
      // `--force` also cleans up after a container that is gone.
      const stale = o.force ? store.endpoints({ networkId: n.Id }).find((e) => e.ContainerName === container || e.ContainerID === container) : undefined;
      if (!stale) throw err;
      id = stale.ContainerID;
    }
    const endpoint = store.endpoint(n.Id, id);
    if (!endpoint) throw new NotFoundError(`container ${container} is not connected to network ${n.Name}`);
    if (endpoint.HostVeth) await deleteLink(endpoint.HostVeth);
    if (endpoint.IPAddress && n.Driver === 'overlay') await this.overlay.release(n.Id, endpoint.IPAddress);
    store.deleteEndpoint(n.Id, id);
    // As Docker: only a plugged endpoint (a running container's) is announced.
    if (endpoint.HostVeth) this.ctx.emit('disconnect', n, { container: id });
    const sandbox = store.sandbox(id);
    if (sandbox && sandbox.Ports.some((p) => p.containerIp === endpoint.IPAddress)) {
      sandbox.Ports = sandbox.Ports.filter((p) => p.containerIp !== endpoint.IPAddress);
      store.putSandbox(sandbox);
    }
    await this.nat.apply();
  }

  private async startSandbox(sandbox: SandboxRecord, c: { id: string; hostname: string; domainname?: string }): Promise<ContainerSandbox> {
    const store = this.ctx.store;
    const hostResolv = readHostFile(this.hostResolvConf);
    const mode = sandbox.NetworkMode;
    const defaultGateway = store.networkByName('bridge')?.IPAM.Config[0]?.Gateway;
    const extraHosts = sandbox.ExtraHosts.map((e) => parseExtraHost(e, defaultGateway));
    if (mode === 'host') {
      return {
        namespace: 'host',
        hosts: hostModeHostsFile(readHostFile('/etc/hosts'), extraHosts),
        resolvConf: sandbox.Dns.length || sandbox.DnsSearch.length || sandbox.DnsOptions.length ? resolvConf(hostResolv, dnsOf(sandbox)) : hostResolv,
      };
    }
    if (mode.startsWith('container:')) {
      const target = this.ctx.lookup().get(mode.slice('container:'.length));
      if (!target.running || target.pid <= 0) {
        throw new FailedPreconditionError(`cannot join network namespace of a non running container: ${target.name.replace(/^\//, '')}`);
      }
      return { namespace: { path: `/proc/${target.pid}/ns/net` }, hosts: readHostFile(target.hostsPath), resolvConf: readHostFile(target.resolvConfPath) };
    }
    if (mode === 'none') {
      // No netns of ours: runc makes the namespace (a `network` one without a path in the spec) and
      // brings its loopback up (its specconv's "loopback" network), so no `ip` process runs, and
      // the namespace dies with the container's last process. Who needs its path (a container
      // joining it, inspect's SandboxKey) takes `/proc/<pid>/ns/net` of its init, as Docker's
      // `container:` mode does.
      return {
        namespace: 'new',
        hosts: hostsFile({ hostname: c.hostname, domainname: c.domainname, extraHosts }),
        resolvConf: resolvConf(hostResolv, dnsOf(sandbox)),
      };
    }
    const netns = this.ctx.netnsName(sandbox.ContainerID);
    // Recorded first: a failure below (the caller's stop) deletes whatever part of it was made.
    sandbox.Netns = netns;
    sandbox.Ports = [];
    store.putSandbox(sandbox);
    const endpoints = store.endpoints({ containerId: sandbox.ContainerID });
    let first: { endpoint: EndpointRecord; network: NetworkRecord } | undefined;
    let routed = false;
    for (const endpoint of endpoints) {
      const network = store.network(endpoint.NetworkID);
      if (!network) continue;
      // The netns is made by the first veth's own `ip` processes (host-links.ts addVeth).
      const plugged = await this.plugEndpoint(sandbox, endpoint, { defaultRoute: !routed && !network.Internal, createNetns: first === undefined });
      if (!network.Internal) routed = true;
      first ??= { endpoint: plugged, network };
    }
    if (first === undefined) await createNetns(netns);
    const publishTo = endpoints.map((e) => store.endpoint(e.NetworkID, e.ContainerID)!).find((e) => !store.network(e.NetworkID)?.Internal);
    if (publishTo) {
      sandbox.Ports = await this.nat.allocate(sandbox, publishTo.IPAddress);
      store.putSandbox(sandbox);
    }
    await this.nat.apply();
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
  private async plugEndpoint(sandbox: SandboxRecord, endpoint: EndpointRecord, o: { defaultRoute: boolean; createNetns?: boolean }): Promise<EndpointRecord> {
    const store = this.ctx.store;
    const network = store.network(endpoint.NetworkID);
    if (!network) throw new NotFoundError(`network ${endpoint.NetworkID} not found`);
    const ipam = network.IPAM.Config[0]!;
    const used = store.usedAddresses(network.Id);
    used.delete(endpoint.IPAddress);
    const macOf = (ip: string) => (endpoint.Order === 0 && sandbox.MacAddress ? sandbox.MacAddress : macFor(ip));
    const overlay = network.Driver === 'overlay';
    // An overlay network's address is claimed in the cluster (overlay-networks.ts), a bridge's here.
    const ip = overlay
      ? await this.overlay.claim(network, used, {
          requested: endpoint.IPAMConfig?.IPv4Address,
          describe: (addr) => ({ mac: macOf(addr), containerId: sandbox.ContainerID, containerName: endpoint.ContainerName, aliases: endpoint.Aliases }),
        })
      : allocateAddress(ipam, used, endpoint.IPAMConfig?.IPv4Address);
    const others = store.endpoints({ containerId: sandbox.ContainerID }).filter((e) => e.HostVeth && e.NetworkID !== network.Id);
    const ifIndex = Math.max(-1, ...others.map((e) => Number(e.Interface.replace('eth', '')))) + 1;
    const mac = macOf(ip);
    const hostVeth = `veth${randomBytes(4).toString('hex').slice(0, 7)}`;
    const updated: EndpointRecord = { ...endpoint, IPAddress: ip, MacAddress: mac, HostVeth: hostVeth, Interface: `eth${ifIndex}` };
    try {
      // Claim the address first: the unique (network, ip) index refuses a concurrent duplicate.
      store.putEndpoint(updated);
    } catch (err) {
      if (overlay) await this.overlay.release(network.Id, ip);
      throw new ConflictError(`Address already in use: "${ip}"`, { cause: err });
    }
    try {
      await addVeth({
        hostName: hostVeth,
        alias: `${this.ctx.aliasPrefix}:${sandbox.ContainerID.slice(0, 12)}`,
        bridge: network.BridgeName!,
        netns: sandbox.Netns!,
        ifName: updated.Interface,
        mac,
        address: `${ip}/${prefixLength(ipam)}`,
        gateway: o.defaultRoute ? ipam.Gateway : undefined,
        createNetns: o.createNetns,
        mtu: overlay ? await this.overlay.mtu(network) : undefined,
        log: this.ctx.log,
      });
    } catch (err) {
      if (overlay) await this.overlay.release(network.Id, ip);
      store.putEndpoint({ ...endpoint, IPAddress: '', HostVeth: '', MacAddress: '', Interface: '' });
      throw err;
    }
    return updated;
  }
}

function newEndpoint(n: NetworkRecord, containerId: string, name: string, order: number, o: { aliases: string[]; links: string[]; ip?: string }): EndpointRecord {
  const { aliases, links, ip } = o;
  return {
    NetworkID: n.Id,
    ContainerID: containerId,
    ContainerName: name.replace(/^\//, ''),
    EndpointID: randomBytes(32).toString('hex'),
    Aliases: aliases,
    ...(links.length > 0 ? { Links: links } : {}),
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
