import { commandsIn, driverOptsFlag, filterFlag, forceFlag, formatFlag, inspectCommand, labelFlag, objectGroup, pruneCommand, quietFlag } from './command-def.js';

/**
 * `berth network …` and `berth port`: docker's network commands (usage, flags, argument rules).
 * Handlers are in ./commands/networks.ts, loaded only when one runs; commands.ts only adds the
 * group and `port` to the command table.
 */

const networks = () => import('./commands/networks.js');
const fromNetworks = commandsIn(networks);

const create = fromNetworks('create', {
  usage: '[OPTIONS] NETWORK',
  description: 'Create a network',
  flags: [
    { long: 'attachable', type: 'bool', description: 'Enable manual container attachment' },
    { long: 'driver', short: 'd', type: 'string', default: 'bridge', description: 'Driver to manage the Network' },
    { long: 'gateway', type: 'list', description: 'IPv4 Gateway for the master subnet' },
    { long: 'internal', type: 'bool', description: 'Restrict external access to the network' },
    { long: 'ip-range', type: 'list', description: 'Allocate container ip from a sub-range' },
    { long: 'ipv6', type: 'bool', description: 'Enable or disable IPv6 networking' },
    labelFlag('Set metadata on a network'),
    driverOptsFlag,
    { long: 'subnet', type: 'list', description: 'Subnet in CIDR format that represents a network segment' },
  ],
});

const ls = fromNetworks('ls', {
  usage: '[OPTIONS]',
  description: 'List networks',
  flags: [
    filterFlag('f', "Provide filter values (e.g. 'driver=bridge')"),
    formatFlag(),
    { long: 'no-trunc', type: 'bool', description: 'Do not truncate the output' },
    quietFlag('Only display network IDs'),
  ],
});

const inspect = inspectCommand('network', () => networks().then((m) => m.inspect));

const rm = fromNetworks('rm', {
  usage: 'NETWORK [NETWORK...]',
  description: 'Remove one or more networks',
  flags: [forceFlag('Do not error if the network does not exist')],
});

const prune = pruneCommand('Remove all unused networks', () => networks().then((m) => m.prune), { filter: 'label=<key>=<value>' });

const connect = fromNetworks('connect', {
  usage: '[OPTIONS] NETWORK CONTAINER',
  description: 'Connect a container to a network',
  flags: [
    { long: 'alias', type: 'list', description: 'Add network-scoped alias for the container' },
    { long: 'ip', type: 'string', description: 'IPv4 address (e.g., "172.30.100.104")' },
  ],
});

const disconnect = fromNetworks('disconnect', {
  usage: '[OPTIONS] NETWORK CONTAINER',
  description: 'Disconnect a container from a network',
  flags: [forceFlag('Force the container to disconnect from a network')],
});

export const networkGroup = objectGroup({
  name: 'network',
  description: 'Manage networks',
  commands: { connect, create, disconnect, inspect, ls, prune, rm },
});

/** `berth port CONTAINER [PRIVATE_PORT[/PROTO]]`. */
export const port = fromNetworks('port', {
  usage: 'CONTAINER [PRIVATE_PORT[/PROTO]]',
  description: 'List port mappings or a specific mapping for the container',
});
