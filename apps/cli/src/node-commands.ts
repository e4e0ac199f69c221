import { commandsIn, forceFlag, formatFlag, type GroupDef, inspectCommand, quietFlag, withName } from './command-def.js';

/**
 * `berth node …`: the cluster's hosts (docker's swarm node commands, over Berth's nodes: one runtime
 * agent per host, docs/dev/cluster.md). Handlers are in ./commands/nodes.ts.
 */

const nodes = () => import('./commands/nodes.js');
const fromNodes = commandsIn(nodes);

const ls = fromNodes('ls', {
  usage: '[OPTIONS]',
  description: 'List nodes in the cluster',
  flags: [formatFlag(), quietFlag('Only display IDs')],
});

const inspect = inspectCommand('node', () => nodes().then((m) => m.inspect));

const update = fromNodes('update', {
  usage: '[OPTIONS] NODE',
  description: 'Update a node',
  flags: [
    { long: 'availability', type: 'string', description: 'Availability of the node ("active", "pause", "drain")' },
    { long: 'label-add', type: 'list', description: 'Add or update a node label (key=value)' },
    { long: 'label-rm', type: 'list', description: 'Remove a node label if exists' },
  ],
});

const rm = fromNodes('rm', {
  usage: '[OPTIONS] NODE [NODE...]',
  description: 'Remove one or more nodes from the cluster',
  flags: [forceFlag('Force remove a node from the cluster')],
});

export const nodeGroup: GroupDef = {
  name: 'node',
  description: 'Manage the cluster\'s nodes',
  commands: { inspect, ls, list: withName(ls, 'list'), rm, remove: withName(rm, 'remove'), update },
};
