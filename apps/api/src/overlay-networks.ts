import { randomBytes } from 'node:crypto';
import { ConflictError, errorKindOf, UnavailableError } from '@berth/errors';
import { defaultVxlanPort, nextVni, vxlanIdOption, vxlanPortOption, type ClusterStore, type OverlayNetworkRecord } from '@berth/events';
import { CreateNetworkRequest, NetworksService, type AgentAnnouncement, type CreateNetworkResponse, type ListNetworksResponse } from '@berth/proto';
import { answered, type ClusterRouter } from './cluster-router.js';
import type { Logger } from '@berth/log';

/**
 * Overlay networks over the cluster (`network create -d overlay`, compose projects on several
 * nodes). The gateway chooses what must be the same on every host and the agents make the rest
 * (libs/network overlay-networks.ts):
 *
 *   id      64 hex, new
 *   subnet  the one asked for, else the one the first host chooses (the first /24 of 10.0.0.0/16
 *           free among its networks and routes)
 *   VNI     the lowest from 4096 that no overlay network holds, claimed in KV `cluster`
 *           (`overlay-network.<vni>`, create-if-absent, so two gateways never hand out one twice)
 *
 * and creates the network with them on every live host; a host that refuses (its routes overlap
 * the subnet, a name taken) undoes the create everywhere. A host that was down, or joins later,
 * gets every recorded overlay network when it comes up (`ensureOn`).
 */
export class OverlayNetworkKeeper {
  constructor(
    private readonly router: ClusterRouter,
    private readonly store: ClusterStore,
    private readonly log: Logger,
  ) {}

  /** Creates the overlay network of `request` on every live host. @returns its id. */
  async create(request: CreateNetworkRequest): Promise<CreateNetworkResponse> {
    const hosts = await this.router.live();
    if (hosts.length === 0) throw new UnavailableError('no runtime agent is running');
    const lists = answered(await this.router.fanOut<ListNetworksResponse>(NetworksService.list, { filters: [] }));
    if (lists.some((l) => l.networks.some((n) => n.name === request.name))) throw new ConflictError(`network with name ${request.name} already exists`);
    const id = randomBytes(32).toString('hex');
    const claimed = await this.claimVni(id, request);
    // The first host chooses the subnet when none is asked for (the first free /24 of 10.0.0.0/16
    // among its networks and routes: overlay networks are the same on every host); the others get it.
    const [first, ...rest] = hosts as [AgentAnnouncement, ...AgentAnnouncement[]];
    try {
      await this.router.call(first, NetworksService.create, claimed.request, { timeoutMs: 60_000 });
    } catch (err) {
      await this.undo([], id, claimed.vni);
      throw err;
    }
    let full = claimed.request;
    if (!full.subnet) {
      const inspect = await this.router.call<{ json: string }>(first, NetworksService.inspect, { id });
      const subnet = (JSON.parse(inspect.json) as { IPAM?: { Config?: Array<{ Subnet?: string }> } }).IPAM?.Config?.[0]?.Subnet ?? '';
      full = { ...full, subnet };
      await this.store.putOverlayNetwork({ ...claimed.record, subnet, request: encode(full) });
    }
    const answers = await this.router.fanOut<CreateNetworkResponse>(NetworksService.create, full, { hosts: rest, timeoutMs: 60_000 });
    const failed = answers.find((a) => a.error !== undefined && errorKindOf(a.error) !== 'unavailable');
    if (failed) {
      await this.undo([first, ...answers.filter((a) => a.error === undefined).map((a) => a.host)], id, claimed.vni);
      throw failed.error;
    }
    return { id, warning: '' };
  }

  /**
   * Before `network rm`: ConflictError (Docker's message) when the network is an overlay network
   * that a running container on any of `holders` uses. `holders`: each host's Inspect answer.
   */
  async checkUnused(holders: Array<{ host: AgentAnnouncement; result?: unknown }>): Promise<void> {
    const users: string[] = [];
    let network: { Name?: string; Id?: string; Driver?: string } | undefined;
    for (const h of holders) {
      const json = (h.result as { json?: string } | undefined)?.json;
      if (!json) continue;
      const n = JSON.parse(json) as { Name?: string; Id?: string; Driver?: string; Containers?: Record<string, { Name?: string }> };
      if (n.Driver !== 'overlay') return;
      network = n;
      users.push(...Object.values(n.Containers ?? {}).map((c) => `${c.Name ?? '?'} on ${h.host.hostname}`));
    }
    if (network && users.length > 0) {
      throw new ConflictError(`error while removing network: network ${network.Name} id ${network.Id} has active endpoints (${users.join(', ')})`);
    }
  }

  /** Forgets the overlay network `idOrName` (after `network rm` took it off the hosts). */
  async forget(idOrName: string): Promise<void> {
    for (const r of await this.store.overlayNetworks()) {
      if (r.name === idOrName || (idOrName.length > 0 && r.id.startsWith(idOrName))) await this.store.deleteOverlayNetwork(r.vni);
    }
  }

  /** Forgets the overlay networks no live host has any more (after a prune). */
  async forgetGone(): Promise<void> {
    const ids = new Set(answered(await this.router.fanOut<ListNetworksResponse>(NetworksService.list, { filters: [] })).flatMap((l) => l.networks.map((n) => n.id)));
    for (const r of await this.store.overlayNetworks()) if (!ids.has(r.id)) await this.store.deleteOverlayNetwork(r.vni);
  }

  /** Creates every recorded overlay network `host` lacks (a host back from down, or new). */
  async ensureOn(host: AgentAnnouncement): Promise<void> {
    const have = (await this.router.call<ListNetworksResponse>(host, NetworksService.list, { filters: [] })).networks;
    for (const r of await this.store.overlayNetworks()) {
      if (have.some((n) => n.id === r.id)) continue;
      const request = CreateNetworkRequest.decode(Buffer.from(r.request, 'base64'));
      await this.router
        .call(host, NetworksService.create, request, { timeoutMs: 60_000 })
        .catch((err: unknown) => this.log.warn({ host: host.hostname, network: r.name, err }, 'Cannot create an overlay network on a host that came up'));
    }
  }

  /** The lowest free VXLAN id, claimed in KV (another gateway's concurrent create takes the next one). */
  private async claimVni(id: string, request: CreateNetworkRequest): Promise<{ vni: number; request: CreateNetworkRequest; record: OverlayNetworkRecord }> {
    const taken = new Set((await this.store.overlayNetworks()).map((r) => r.vni));
    for (let attempt = 0; attempt < 16; attempt++) {
      const vni = nextVni(taken);
      const full: CreateNetworkRequest = {
        ...request,
        id,
        driver: 'overlay',
        options: { ...request.options, [vxlanIdOption]: String(vni), [vxlanPortOption]: request.options[vxlanPortOption] ?? String(defaultVxlanPort) },
      };
      const record = { id, name: request.name, vni, subnet: request.subnet, request: encode(full), createdAt: Date.now() };
      if (await this.store.claimOverlayNetwork(record)) return { vni, request: full, record };
      taken.add(vni); // another gateway took it meanwhile
    }
    throw new ConflictError(`Cannot create overlay network "${request.name}": 16 VXLAN ids in a row were taken meanwhile`);
  }

  private async undo(hosts: AgentAnnouncement[], id: string, vni: number): Promise<void> {
    for (const host of hosts) {
      await this.router
        .call(host, NetworksService.remove, { id }, { timeoutMs: 60_000 })
        .catch((err: unknown) => this.log.warn({ host: host.hostname, network: id, err }, 'Cannot remove the overlay network of a failed create'));
    }
    await this.store.deleteOverlayNetwork(vni).catch((err: unknown) => this.log.warn({ network: id, vni, err }, 'Cannot forget the overlay network of a failed create'));
  }
}

/** Whether a create asks for an overlay network. */
export function isOverlayCreate(request: unknown): request is CreateNetworkRequest {
  return (request as { driver?: string } | undefined)?.driver === 'overlay';
}

function encode(request: CreateNetworkRequest): string {
  return Buffer.from(CreateNetworkRequest.encode(request).finish()).toString('base64');
}
