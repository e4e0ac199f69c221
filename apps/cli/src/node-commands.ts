import type { CommandDef, GroupDef } from './command-def.js';

/**
 * `berth node …`: the cluster's hosts (docker's swarm node commands, over Berth's nodes: one runtime
 * agent per host, docs/dev/cluster.md). Handlers are in ./commands/nodes.ts.
 */

const nodes = () => import('./commands/nodes.js');

const ls: CommandDef = {
  name: 'ls',
  usage: '[OPTIONS]',
  description: 'List nodes in the cluster',
  flags: [
    { long: 'format', type: 'string', description: 'Format output using a custom template' },
    { long: 'quiet', short: 'q', type: 'bool', description: 'Only display IDs' },
  ],
  args: { max: 0 },
  load: () => nodes().then((m) => m.ls),
};

const inspect: CommandDef = {
  name: 'inspect',
  usage: '[OPTIONS] NODE [NODE...]',
  description: 'Display detailed information on one or more nodes',
  flags: [{ long: 'format', short: 'f', type: 'string', description: 'Format output using a custom template' }],
  args: { min: 1 },
  load: () => nodes().then((m) => m.inspect),
};

const update: CommandDef = {
  name: 'update',
  usage: '[OPTIONS] NODE',
  description: 'Update a node',
  flags: [
    { long: 'availability', type: 'string', description: 'Availability of the node ("active", "pause", "drain")' },
    { long: 'label-add', type: 'list', description: 'Add or update a node label (key=value)' },
    { long: 'label-rm', type: 'list', description: 'Remove a node label if exists' },
  ],
  args: { min: 1, max: 1 },
  load: () => nodes().then((m) => m.update),
};

const rm: CommandDef = {
  name: 'rm',
  usage: '[OPTIONS] NODE [NODE...]',
  description: 'Remove one or more nodes from the cluster',
  flags: [{ long: 'force', short: 'f', type: 'bool', description: 'Force remove a node from the cluster' }],
  args: { min: 1 },
  load: () => nodes().then((m) => m.rm),
};

export const nodeGroup: GroupDef = {
  name: 'node',
  description: 'Manage the cluster\'s nodes',
  commands: { inspect, ls, list: { ...ls, name: 'list' }, rm, remove: { ...rm, name: 'remove' }, update },
};
