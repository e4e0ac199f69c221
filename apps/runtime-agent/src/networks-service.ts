import type { ContainerManager } from '@berth/containers';
import { InvalidArgumentError } from '@berth/errors';
import type { ContainerLookup, NetworkManager } from '@berth/network';
import { handleUnary, type NetworksServer } from '@berth/proto';
import { filtersToMap } from './convert.js';

/**
 * The Networks gRPC service of the agent: each handler calls one NetworkManager method and maps
 * the answer. Errors keep their class (and so their gRPC code) and message.
 */
export function networksService(networks: NetworkManager): NetworksServer {
  return {
    create: handleUnary(async (req) => {
      if (!req.name) throw new InvalidArgumentError('Create needs a network name');
      const record = await networks.createNetwork({
        name: req.name,
        driver: req.driver,
        id: req.id || undefined,
        subnet: req.subnet || undefined,
        gateway: req.gateway || undefined,
        ipRange: req.ipRange || undefined,
        internal: req.internal,
        attachable: req.attachable,
        labels: req.labels,
        options: req.options,
      });
      return { id: record.Id, warning: '' };
    }),
    list: handleUnary(async ({ filters }) => ({
      networks: networks.listNetworks(filtersToMap(filters)).map((n) => ({
        id: n.Id,
        name: n.Name,
        driver: n.Driver,
        scope: n.Scope,
        created: n.Created,
        internal: n.Internal,
        labels: n.Labels,
        subnet: n.IPAM.Config[0]?.Subnet ?? '',
        gateway: n.IPAM.Config[0]?.Gateway ?? '',
        ipv6: n.EnableIPv6,
      })),
    })),
    inspect: handleUnary(async ({ id }) => ({ json: JSON.stringify(networks.inspectNetwork(id)) })),
    remove: handleUnary(async ({ id }) => (await networks.removeNetwork(id), {})),
    // `network prune` and `system prune`: until, label and label! as docker (libs/network network-filters.ts).
    prune: handleUnary(async ({ filters }) => ({ deleted: await networks.pruneNetworks(filtersToMap(filters)) })),
    connect: handleUnary(async (req) => {
      await networks.connect(req.network, req.container, { aliases: req.aliases, ipv4Address: req.ipv4Address || undefined });
      return {};
    }),
    disconnect: handleUnary(async (req) => (await networks.disconnect(req.network, req.container, { force: req.force }), {})),
  };
}

function hasHealthcheck(test: string[] | undefined): boolean {
  return test !== undefined && test.length > 0 && test[0] !== 'NONE';
}

/** What the network manager asks the container manager (names, running state, pid, /etc files). */
export function containerLookup(manager: () => ContainerManager | undefined): ContainerLookup {
  return {
    get(idOrName) {
      const m = manager();
      if (!m) throw new InvalidArgumentError('The container manager is not ready yet');
      const rec = m.get(idOrName);
      return {
        id: rec.Id,
        name: rec.Name,
        running: rec.State.Running && !rec.State.Restarting,
        pid: rec.State.Pid,
        hostsPath: rec.HostsPath,
        resolvConfPath: rec.ResolvConfPath,
        // A container with a healthcheck is `starting` until its health state exists (the network
        // is up before the first probe), so the DNS does not send it traffic too early.
        health: rec.State.Health?.Status ?? (hasHealthcheck(rec.Config.Healthcheck?.Test) ? 'starting' : undefined),
      };
    },
  };
}
