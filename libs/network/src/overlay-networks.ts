import { randomBytes } from 'node:crypto';
import { ConflictError, InvalidArgumentError, UnavailableError } from '@berth/errors';
import { allocateAddress, planIpam, prefixLength, type IpamConfig } from './ipam.js';
import type { Cidr } from './ipv4.js';
import type { NetworkContext } from './network-context.js';
import type { CreateNetworkOptions } from './network-options.js';
import { networkRecord } from './network-record.js';
import type { OverlayEndpoint, OverlayOptions, OverlayView } from './overlay-directory.js';
import {
  bringUpOverlay,
  mtuOption,
  nextVni,
  overlayLinkNames,
  overlayMtu,
  overlaySettings,
  syncOverlayPeers,
  takeDownOverlay,
  vxlanIdOption,
  vxlanPortOption,
} from './overlay-driver.js';
import type { NetworkRecord } from './types.js';
import { defaultVxlanPort, findUnderlay, type Underlay } from './vxlan-links.js';

/**
 * The overlay networks of one host, between the network tables and the cluster's endpoint index:
 *
 *   create     the record: the id, subnet and VNI the gateway chose for the whole cluster (or, on a
 *              lone agent, its own), driver `overlay`, scope `swarm`
 *   bringUp    bridge + vxlan device on this host's underlay (overlay-driver.ts)
 *   claim      a container's address, free on every host (the directory's create-if-absent), and
 *              its endpoint published for the others
 *   onView     every change of the index: FDB and neighbour entries of each network rewritten,
 *              remote containers answered by the embedded DNS (`remote`)
 *
 * IPAM: the subnet is one for the cluster; an address is taken locally (the lowest one free here
 * and in the index) and then claimed in the index; a lost race tries the next one.
 */

/** Subnets for overlay networks created without `--subnet` (Docker swarm's default pool 10.0.0.0/8 in /24s). */
export const overlaySubnetPool: readonly string[] = Array.from({ length: 256 }, (_, i) => `10.0.${i}.0/24`);

export class OverlayNetworks {
  private underlay?: Underlay;
  private view: OverlayView = { hosts: [], endpoints: [] };
  private stopWatching?: () => Promise<void>;
  private syncing: Promise<void> = Promise.resolve();
  private watching?: Promise<void>;
  private closed = false;

  constructor(
    private readonly ctx: NetworkContext,
    private readonly o: OverlayOptions = {},
  ) {}

  /**
   * The record of a new overlay network: `o.id` and the VNI option when the gateway chose them for
   * the cluster, else new ones; the subnet given or the first free /24 of 10.0.0.0/16.
   */
  plan(o: CreateNetworkOptions, inUse: Cidr[]): NetworkRecord {
    const store = this.ctx.store;
    if (o.id !== undefined && !/^[0-9a-f]{64}$/.test(o.id)) throw new InvalidArgumentError(`invalid network id "${o.id}": expected 64 hex characters`);
    const id = o.id ?? randomBytes(32).toString('hex');
    if (store.network(id)) throw new ConflictError(`network with id ${id} already exists`);
    const others = store.networks().filter((n) => n.Driver === 'overlay');
    const options = { ...(o.options ?? {}) };
    options[vxlanIdOption] ??= String(nextVni(others.map((n) => overlaySettings(n.Options).vni)));
    options[vxlanPortOption] ??= String(defaultVxlanPort);
    const settings = overlaySettings(options);
    const clash = others.find((n) => overlaySettings(n.Options).vni === settings.vni);
    if (clash) throw new ConflictError(`VXLAN id ${settings.vni} is already used by network ${clash.Name}`);
    if (options[mtuOption] !== undefined && !(Number(options[mtuOption]) >= 68)) {
      throw new InvalidArgumentError(`invalid option ${mtuOption}="${options[mtuOption]}": expected an MTU of at least 68`);
    }
    const ipam: IpamConfig = planIpam({ subnet: o.subnet, gateway: o.gateway, ipRange: o.ipRange }, { inUse, pool: overlaySubnetPool });
    return {
      ...networkRecord(o.name, { id, driver: 'overlay', config: [ipam] }),
      Scope: 'swarm',
      Internal: o.internal ?? false,
      Attachable: o.attachable ?? false,
      Options: options,
      Labels: o.labels ?? {},
      BridgeName: overlayLinkNames(id).bridge,
    };
  }

  /** Makes the network's bridge and vxlan device on this host and points it at the other hosts. */
  async bringUp(n: NetworkRecord): Promise<void> {
    const underlay = await this.findUnderlay();
    const ipam = n.IPAM.Config[0]!;
    const requested = n.Options[mtuOption] !== undefined ? Number(n.Options[mtuOption]) : undefined;
    await bringUpOverlay({
      networkId: n.Id,
      settings: overlaySettings(n.Options),
      gateway: `${ipam.Gateway}/${prefixLength(ipam)}`,
      aliasPrefix: this.ctx.aliasPrefix,
      underlay,
      mtu: requested,
    });
    await this.syncNetwork(n);
  }

  async takeDown(n: NetworkRecord): Promise<void> {
    await takeDownOverlay(n.Id);
  }

  /** The MTU of the network's links on this host (its containers' veths get it). */
  async mtu(n: NetworkRecord): Promise<number> {
    const underlay = await this.findUnderlay();
    return overlayMtu(underlay, n.Options[mtuOption] !== undefined ? Number(n.Options[mtuOption]) : undefined);
  }

  /**
   * An address of overlay network `n` for a container, claimed in the cluster: `requested` (`--ip`)
   * or the lowest one free in `used` (this host's) and in the index; `describe` fills in the
   * endpoint to publish. ConflictError when `requested` is taken on another host.
   */
  async claim(n: NetworkRecord, used: ReadonlySet<string>, o: { requested?: string; describe: (ip: string) => Pick<OverlayEndpoint, 'mac' | 'containerId' | 'containerName' | 'aliases'> }): Promise<string> {
    const taken = new Set([...used, ...this.view.endpoints.filter((e) => e.networkId === n.Id).map((e) => e.ip)]);
    const inner = this.o.directory;
    // The index unreachable (NATS away): no address can be known free on every host.
    const directory = inner && {
      claim: (e: OverlayEndpoint) =>
        inner.claim(e).catch((err: unknown) => {
          throw new UnavailableError(`Cannot claim an address on overlay network "${n.Name}": the cluster's endpoint index does not answer`, { cause: err });
        }),
    };
    if (o.requested) {
      // The index may not have told this host about a remote holder yet: only the claim decides.
      const ip = allocateAddress(n.IPAM.Config[0]!, used, o.requested);
      if (directory && !(await directory.claim(await this.endpoint(n, ip, o.describe(ip))))) throw new ConflictError(`Address already in use: "${ip}"`);
      return ip;
    }
    for (let attempt = 0; attempt < 64; attempt++) {
      const ip = allocateAddress(n.IPAM.Config[0]!, taken);
      if (!directory || (await directory.claim(await this.endpoint(n, ip, o.describe(ip))))) return ip;
      taken.add(ip); // another host holds it: the next one
    }
    throw new UnavailableError(`Cannot claim an address on overlay network "${n.Name}": 64 addresses in a row were taken on other hosts`);
  }

  /** Withdraws the endpoint of `ip` (a stop, a disconnect, a failed start). Failures are logged: the TTL ends it. */
  async release(networkId: string, ip: string): Promise<void> {
    await this.o.directory?.release(networkId, ip).catch((err) => this.ctx.log.warn({ network: networkId, ip, err }, 'Cannot withdraw an overlay endpoint'));
  }

  /** The running containers of overlay network `networkId` on other hosts (for the embedded DNS). */
  remote(networkId: string): OverlayEndpoint[] {
    const self = this.o.hostId;
    return this.view.endpoints.filter((e) => e.networkId === networkId && e.hostId !== self);
  }

  /**
   * Starts following the index (at open): this host announced, the endpoints of its running
   * containers published again (an agent restart keeps them running), and every change synced to
   * the vxlan devices. Does nothing without a directory.
   */
  async watch(): Promise<void> {
    const directory = this.o.directory;
    if (!directory || this.stopWatching || this.closed) return;
    const underlay = await this.findUnderlay();
    const stop = await directory.watch({ hostId: this.o.hostId ?? '', host: underlay.address }, (view) => {
      this.view = view;
      this.syncing = this.syncing.then(() => this.syncAll());
    });
    if (this.closed) return void (await stop());
    this.stopWatching = stop;
    for (const n of this.ctx.store.networks().filter((x) => x.Driver === 'overlay')) {
      for (const e of this.ctx.store.endpoints({ networkId: n.Id }).filter((x) => x.IPAddress)) {
        const published = await directory.claim(await this.endpoint(n, e.IPAddress, { mac: e.MacAddress, containerId: e.ContainerID, containerName: e.ContainerName, aliases: e.Aliases }));
        if (!published) this.ctx.log.warn({ network: n.Name, container: e.ContainerID, ip: e.IPAddress }, 'Another host holds the overlay address of a running container');
      }
    }
  }

  /**
   * `watch` in the background, again every 5 s while it fails (NATS away at the agent's start):
   * the agent serves meanwhile, its overlay networks reaching only its own containers.
   */
  startWatching(): void {
    const attempt = () =>
      this.watch().catch((err) => {
        this.ctx.log.warn({ err }, 'Cannot follow the cluster’s overlay endpoints: trying again in 5 s');
        if (!this.closed) setTimeout(attempt, 5_000).unref();
      });
    this.watching = attempt();
  }

  /** Stops following the index (at close). */
  async close(): Promise<void> {
    this.closed = true;
    await this.watching;
    const stop = this.stopWatching;
    this.stopWatching = undefined;
    await stop?.();
    await this.syncing;
  }

  private async endpoint(n: NetworkRecord, ip: string, d: Pick<OverlayEndpoint, 'mac' | 'containerId' | 'containerName' | 'aliases'>): Promise<OverlayEndpoint> {
    return { networkId: n.Id, ip, ...d, containerName: d.containerName.replace(/^\//, ''), host: (await this.findUnderlay()).address, hostId: this.o.hostId ?? '' };
  }

  private async syncAll(): Promise<void> {
    for (const n of this.ctx.store.networks().filter((x) => x.Driver === 'overlay')) await this.syncNetwork(n);
  }

  private async syncNetwork(n: NetworkRecord): Promise<void> {
    if (!this.o.directory) return;
    try {
      const underlay = await this.findUnderlay();
      const peers = this.view.endpoints.filter((e) => e.networkId === n.Id);
      await syncOverlayPeers(n.Id, { self: underlay.address, hosts: this.view.hosts, peers });
    } catch (err) {
      this.ctx.log.warn({ network: n.Name, err }, 'Cannot update the overlay network’s forwarding entries');
    }
  }

  private async findUnderlay(): Promise<Underlay> {
    this.underlay ??= await findUnderlay({ address: this.o.underlayAddress });
    return this.underlay;
  }
}
