import { randomBytes } from 'node:crypto';
import { ConflictError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@berth/errors';
import type { DnsResolvers } from './dns-resolvers.js';
import { mustExec } from './host-exec.js';
import { withHostLock } from './host-lock.js';
import { deleteLink, deleteLinks, ensureBridge, listLinks, setSysctl, type HostLink } from './host-links.js';
import { allowLoopbackDnat } from './loopback-guard.js';
import { planIpam, prefixLength } from './ipam.js';
import { formatCidr, overlaps, parseCidr, type Cidr } from './ipv4.js';
import type { NetworkContext } from './network-context.js';
import { networkRecord } from './network-record.js';
import { overlayLinkNames } from './overlay-driver.js';
import { filterNetworks } from './network-filters.js';
import type { CreateNetworkOptions } from './network-options.js';
import type { PortPublisher } from './port-publishing.js';
import type { OverlayNetworks } from './overlay-networks.js';
import { hasBridge, isUserNetwork, type NetworkRecord } from './types.js';

// Several agents (test platforms, other data roots) may share a host, each with its own default
// bridge: after the usual choices, 16 more /16s of 10.0.0.0/8 keep them from running out.
const defaultBridgeSubnets = [
  '172.31.0.0/16',
  '172.30.0.0/16',
  '10.231.0.0/16',
  '10.232.0.0/16',
  '192.168.231.0/24',
  ...Array.from({ length: 16 }, (_, i) => `10.${233 + i}.0.0/16`),
];
const bridgeNameOption = 'com.docker.network.bridge.name';

/**
 * Held (host-wide, host-lock.ts) from choosing a bridge name and subnet by what the host shows until
 * the bridge exists with its address: two agents starting together (test platforms, benches) both
 * chose `berth4` and the same subnet, and the first to stop deleted the other's bridge (its runs
 * then failed with `argument "berth4" is wrong: Device does not exist`). Apart from the loopback
 * guard's lock, which bringing a bridge up takes inside it.
 */
const planLock = { path: '/run/berth-network-plan.lock', timeoutMs: 60_000 };

/**
 * The networks of one host and their addresses: the predefined `bridge` (bridge `berth0`, or
 * `berth1`… when another agent holds that name), `host` and `none`, and user-defined bridge
 * networks, each with a subnet from IPAM that overlaps no other network and no host route. A
 * bridge network is "up" when its bridge exists (with the gateway address) and, for user networks,
 * its DNS server listens.
 */
export class NetworkCatalogue {
  constructor(
    private readonly ctx: NetworkContext,
    private readonly dns: DnsResolvers,
    private readonly nat: PortPublisher,
    private readonly overlay: OverlayNetworks,
    private readonly pools: { defaultBridgeSubnets?: readonly string[]; subnetPool?: readonly string[] } = {},
  ) {}

  /** At open: forwarding on, the predefined networks, and every bridge network up (failures logged). */
  async setUp(): Promise<void> {
    setSysctl('net/ipv4/ip_forward', '1');
    await withHostLock(async () => {
      await this.ensurePredefined();
      for (const n of this.ctx.store.networks()) {
        try {
          await this.bringUp(n);
        } catch (err) {
          this.ctx.log.warn({ network: n.Name, err }, 'Cannot set up the network');
        }
      }
    }, planLock);
  }

  /**
   * `network create`. Errors: InvalidArgumentError (name, driver, addresses), ConflictError (name
   * taken, subnet overlapping another network or a host route).
   */
  async create(o: CreateNetworkOptions): Promise<NetworkRecord> {
    const store = this.ctx.store;
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(o.name)) {
      throw new InvalidArgumentError(`invalid network name "${o.name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
    if (store.networkByName(o.name)) throw new ConflictError(`network with name ${o.name} already exists`);
    return withHostLock(() => this.createLocked(o), planLock);
  }

  private async createLocked(o: CreateNetworkOptions): Promise<NetworkRecord> {
    const store = this.ctx.store;
    const driver = o.driver || 'bridge';
    if (driver === 'overlay') return this.bringUpNew(this.overlay.plan(o, await this.subnetsInUse()));
    if (driver !== 'bridge') throw new InvalidArgumentError(`plugin "${driver}" not found: only the bridge and overlay drivers are supported`);
    const ipam = planIpam({ subnet: o.subnet, gateway: o.gateway, ipRange: o.ipRange }, { inUse: await this.subnetsInUse(), pool: this.pools.subnetPool });
    const id = randomId();
    const bridge = o.options?.[bridgeNameOption] ?? `br-${id.slice(0, 12)}`;
    if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(bridge)) throw new InvalidArgumentError(`invalid bridge name "${bridge}": at most 15 characters of [a-zA-Z0-9_.-]`);
    if (store.networks().some((n) => n.BridgeName === bridge) || (await listLinks()).some((l) => l.name === bridge)) {
      throw new ConflictError(`bridge name "${bridge}" is already in use`);
    }
    const record: NetworkRecord = {
      ...networkRecord(o.name, { id, driver: 'bridge', config: [ipam] }),
      Internal: o.internal ?? false,
      Attachable: o.attachable ?? false,
      Options: o.options ?? {},
      Labels: o.labels ?? {},
      BridgeName: bridge,
    };
    return this.bringUpNew(record);
  }

  /** Records a new network and brings it up; a failure forgets it again. */
  private async bringUpNew(record: NetworkRecord): Promise<NetworkRecord> {
    const store = this.ctx.store;
    const bridge = record.BridgeName;
    const id = record.Id;
    store.insertNetwork(record);
    try {
      await this.bringUp(record);
      await this.nat.apply();
    } catch (err) {
      await this.takeDown(record).catch((cleanup) => this.ctx.log.warn({ bridge, err: cleanup }, 'Cannot remove the bridge of a failed create'));
      store.deleteNetwork(id);
      throw err;
    }
    this.ctx.emit('create', record);
    return record;
  }

  /** The networks passing Docker's `network ls` filters, oldest first. */
  list(filters: Record<string, string[]> = {}): NetworkRecord[] {
    return filterNetworks(this.ctx.store.networks(), filters, { inUse: (n) => this.ctx.store.endpoints({ networkId: n.Id }).length > 0 });
  }

  /** A network by name, full id or unique id prefix. NotFoundError `network x not found`. */
  resolve(idOrName: string): NetworkRecord {
    const store = this.ctx.store;
    const byName = store.networkByName(idOrName);
    if (byName) return byName;
    if (/^[0-9a-f]+$/.test(idOrName)) {
      const ids = store.networkIdsByPrefix(idOrName);
      if (ids.length === 1) return store.network(ids[0]!)!;
      if (ids.length > 1) throw new InvalidArgumentError(`network ${idOrName} is ambiguous (${ids.length} matches found based on ID prefix)`);
    }
    throw new NotFoundError(`network ${idOrName} not found`, { code: 'NO_SUCH_NETWORK' });
  }

  /**
   * `network rm`. FailedPreconditionError for the predefined networks, ConflictError while a
   * container (running or not) is attached.
   */
  async remove(idOrName: string): Promise<void> {
    const n = this.resolve(idOrName);
    if (n.Predefined) throw new FailedPreconditionError(`${n.Name} is a pre-defined network and cannot be removed`);
    const users = this.ctx.store.endpoints({ networkId: n.Id });
    if (users.length > 0) {
      throw new ConflictError(
        `error while removing network: network ${n.Name} id ${n.Id} has active endpoints (${users.map((e) => e.ContainerName).join(', ')})`,
      );
    }
    await this.takeDown(n);
    this.ctx.store.deleteNetwork(n.Id);
    await this.nat.apply();
    this.ctx.emit('destroy', n);
  }

  /**
   * Takes every bridge and DNS server of this agent down (the networks stay recorded): the links in
   * one `ip -batch` (deleteLinks), failures logged.
   */
  async takeDownAll(): Promise<void> {
    const networks = this.ctx.store.networks();
    await Promise.all(networks.map((n) => this.dns.stop(n.Id)));
    const owner = new Map<string, NetworkRecord>();
    for (const n of networks) {
      // An overlay network's vxlan device is a port of its bridge, which deleting the bridge only releases.
      if (n.Driver === 'overlay') for (const link of Object.values(overlayLinkNames(n.Id))) owner.set(link, n);
      else if (n.Driver === 'bridge' && n.BridgeName) owner.set(n.BridgeName, n);
    }
    for (const [link, err] of await deleteLinks([...owner.keys()])) {
      this.ctx.log.warn({ network: owner.get(link)?.Name, link, err }, 'Cannot remove the bridge');
    }
  }

  /**
   * Creates the bridge of a network (with the loopback guard, at every open too) and, for user
   * networks, its DNS server.
   */
  private async bringUp(n: NetworkRecord): Promise<void> {
    if (!hasBridge(n)) return;
    const ipam = n.IPAM.Config[0]!;
    if (n.Driver === 'overlay') await this.overlay.bringUp(n);
    else await ensureBridge(n.BridgeName!, `${ipam.Gateway}/${prefixLength(ipam)}`, `${this.ctx.aliasPrefix}:net:${n.Id.slice(0, 12)}`);
    // Ports published on 127.0.0.1 need route_localnet; the guard goes in first (loopback-guard.ts).
    await allowLoopbackDnat(n.BridgeName!);
    if (isUserNetwork(n)) await this.dns.start(n);
  }

  private async takeDown(n: NetworkRecord): Promise<void> {
    await this.dns.stop(n.Id);
    if (n.Driver === 'overlay') await this.overlay.takeDown(n);
    else if (n.Driver === 'bridge' && n.BridgeName) await deleteLink(n.BridgeName);
  }

  /** The `bridge`, `host` and `none` networks; `bridge` gets a free bridge name and subnet once. */
  private async ensurePredefined(): Promise<void> {
    const store = this.ctx.store;
    if (!store.networkByName('host')) store.insertNetwork({ ...networkRecord('host', { id: randomId(), driver: 'host', config: [] }), Predefined: true });
    if (!store.networkByName('none')) store.insertNetwork({ ...networkRecord('none', { id: randomId(), driver: 'null', config: [] }), Predefined: true });
    const existing = store.networkByName('bridge');
    const links = await listLinks();
    const foreign = (name: string) => links.some((l) => l.name === name && !l.alias.startsWith(this.ctx.aliasPrefix));
    if (existing) {
      // Keep it unless another owner took its bridge name or subnet while this agent was away
      // (its own bridge is gone then: `close` removes it when no container runs).
      const busy = store.endpoints({ networkId: existing.Id }).some((e) => e.IPAddress);
      const subnet = parseCidr(existing.IPAM.Config[0]!.Subnet);
      const taken = foreign(existing.BridgeName!) || (await this.foreignRoutes(links)).some((r) => overlaps(r, subnet));
      if (busy || !taken) return;
      this.ctx.log.warn({ bridge: existing.BridgeName, subnet: existing.IPAM.Config[0]!.Subnet }, 'The default bridge is taken on this host: choosing another');
    }
    let bridge = 'berth0';
    for (let i = 1; foreign(bridge) || store.networks().some((n) => n.BridgeName === bridge); i++) bridge = `berth${i}`;
    const inUse = (await this.subnetsInUse()).filter((c) => !existing || formatCidr(c) !== existing.IPAM.Config[0]!.Subnet);
    const ipam = planIpam({}, { inUse, pool: this.pools.defaultBridgeSubnets ?? defaultBridgeSubnets });
    const record: NetworkRecord = {
      ...networkRecord('bridge', { id: existing?.Id ?? randomId(), driver: 'bridge', config: [ipam] }),
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
    if (existing) store.updateNetwork(record);
    else store.insertNetwork(record);
  }

  /** Subnets of the other networks and of host routes that are not ours (for IPAM). */
  private async subnetsInUse(): Promise<Cidr[]> {
    const ours = this.ctx.store.networks().flatMap((n) => n.IPAM.Config.map((c) => parseCidr(c.Subnet)));
    return [...ours, ...(await this.foreignRoutes(await listLinks()))];
  }

  private async foreignRoutes(links: HostLink[]): Promise<Cidr[]> {
    const ourDevices = new Set(links.filter((l) => l.alias.startsWith(this.ctx.aliasPrefix)).map((l) => l.name));
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
}

function randomId(): string {
  return randomBytes(32).toString('hex');
}
