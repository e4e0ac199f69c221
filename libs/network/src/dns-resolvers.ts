import { hostNameservers, readHostFile } from './container-files.js';
import { DnsServer, type DnsResolver } from './dns-server.js';
import { linkTarget } from './endpoint-links.js';
import type { NetworkContext } from './network-context.js';
import type { OverlayEndpoint } from './overlay-directory.js';
import type { NetworkRecord } from './types.js';

/**
 * The embedded DNS servers, one per user-defined network on its gateway address (port 53), like
 * Docker's 127.0.0.11: container names, aliases and 12+ character id prefixes of the network's
 * running containers resolve to their addresses (a name several containers share, to those that
 * serve: healthy or without a healthcheck); other names go to the container's `--dns` or the
 * host's nameservers, except on `--internal` networks.
 */
export class DnsResolvers {
  private readonly servers = new Map<string, DnsServer>();

  constructor(
    private readonly ctx: NetworkContext,
    private readonly hostResolvConf: string,
    /** The containers of an overlay network on other hosts (overlay-networks.ts); none for a bridge network. */
    private readonly remote: (networkId: string) => OverlayEndpoint[] = () => [],
  ) {}

  /** Starts the server of network `n` unless it runs; a failure to listen is logged, not thrown. */
  async start(n: NetworkRecord): Promise<void> {
    if (this.servers.has(n.Id)) return;
    const gateway = n.IPAM.Config[0]!.Gateway;
    try {
      this.servers.set(n.Id, await DnsServer.listen(gateway, 53, this.resolverFor(n.Id)));
    } catch (err) {
      this.ctx.log.warn({ network: n.Name, address: `${gateway}:53`, err }, 'Cannot start the DNS server of the network');
    }
  }

  async stop(networkId: string): Promise<void> {
    const server = this.servers.get(networkId);
    this.servers.delete(networkId);
    await server?.close();
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.servers.values()].map((s) => s.close()));
    this.servers.clear();
  }

  /** Answers DNS for the containers of one network. */
  private resolverFor(networkId: string): DnsResolver {
    const store = this.ctx.store;
    return {
      lookup: (name: string, client: string): string[] | undefined => {
        const network = store.network(networkId);
        if (!network) return undefined;
        const suffix = `.${network.Name.toLowerCase()}`;
        const endpoints = store.endpoints({ networkId }).filter((e) => e.IPAddress);
        // The asking container's links (`--link name:alias`) rename the query for it alone.
        const bare = linkTarget(
          endpoints.find((e) => e.IPAddress === client),
          name.endsWith(suffix) ? name.slice(0, -suffix.length) : name,
        );
        const matches = endpoints
          .filter(
            (e) =>
              this.currentName(e.ContainerID, e.ContainerName).toLowerCase() === bare ||
              e.Aliases.some((a) => a.toLowerCase() === bare) ||
              (bare.length >= 12 && e.ContainerID.startsWith(bare)),
          );
        // A name several containers answer to (a service's replicas) resolves to the ones that
        // serve: healthy, or without a healthcheck. Replicas still starting or unhealthy (a rolling
        // update's new one) get traffic only when no replica serves.
        const serving = matches.length > 1 ? matches.filter((e) => this.serves(e.ContainerID)) : matches;
        // Containers on other hosts (an overlay network) answer by the name and aliases they
        // published; their health is their host's business, so they count as serving.
        const remote = this.remote(networkId)
          .filter((e) => e.containerName.toLowerCase() === bare || e.aliases.some((a) => a.toLowerCase() === bare) || (bare.length >= 12 && e.containerId.startsWith(bare)))
          .map((e) => e.ip);
        const addresses = [...(serving.length > 0 || remote.length > 0 ? serving : matches).map((e) => e.IPAddress), ...remote];
        return addresses.length > 0 ? addresses : undefined;
      },
      upstreams: (client: string): string[] => {
        const network = store.network(networkId);
        if (!network || network.Internal) return [];
        const endpoint = store.endpoints({ networkId }).find((e) => e.IPAddress === client);
        const sandbox = endpoint ? store.sandbox(endpoint.ContainerID) : undefined;
        if (sandbox && sandbox.Dns.length > 0) return sandbox.Dns;
        return hostNameservers(readHostFile(this.hostResolvConf));
      },
    };
  }

  /** Whether a running container serves: healthy, or without a healthcheck. */
  private serves(containerId: string): boolean {
    try {
      const health = this.ctx.lookup().get(containerId).health;
      return health === undefined || health === 'healthy';
    } catch {
      return false; // no lookup yet, or the container is gone: it serves nothing
    }
  }

  /** The container's name now (it may have been renamed since it joined), without the slash. */
  private currentName(containerId: string, recorded: string): string {
    try {
      return this.ctx.lookup().get(containerId).name.replace(/^\//, '');
    } catch {
      return recorded; // no lookup yet, or the container is gone: the name it joined with
    }
  }
}
