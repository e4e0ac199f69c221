import { commandsIn, driverOptsFlag, filterFlag, forceFlag, formatFlag, inspectCommand, labelFlag, objectGroup, pruneCommand, quietFlag } from './command-def.js';

/**
 * `berth volume …`: docker's volume commands (usage, flags, argument rules). Handlers are in
 * ./commands/volumes.ts, loaded only when one runs. Kept apart from commands.ts so the volume
 * feature stays in files of its own; commands.ts only adds the group to the top level.
 */

const volumes = () => import('./commands/volumes.js');
const fromVolumes = commandsIn(volumes);

const create = fromVolumes('create', {
  usage: '[OPTIONS] [VOLUME]',
  description: 'Create a volume',
  flags: [
    { long: 'driver', short: 'd', type: 'string', default: 'local', description: 'Specify volume driver name' },
    labelFlag('Set metadata for a volume'),
    { long: 'name', type: 'string', hidden: true, description: 'Specify volume name' },
    driverOptsFlag,
  ],
});

const ls = fromVolumes('ls', {
  usage: '[OPTIONS]',
  description: 'List volumes',
  flags: [
    filterFlag('f', "Provide filter values (e.g. 'dangling=true')"),
    formatFlag(),
    quietFlag('Only display volume names'),
  ],
});

const inspect = inspectCommand('volume', () => volumes().then((m) => m.inspect));

const rm = fromVolumes('rm', {
  usage: '[OPTIONS] VOLUME [VOLUME...]',
  description: 'Remove one or more volumes. You cannot remove a volume that is in use by a container.',
  flags: [forceFlag('Force the removal of one or more volumes')],
});

const prune = pruneCommand('Remove unused local volumes', () => volumes().then((m) => m.prune), {
  all: 'Remove all unused volumes, not just anonymous ones',
  filter: 'label=<label>',
});

export const volumeGroup = objectGroup({
  name: 'volume',
  description: 'Manage volumes',
  commands: { create, inspect, ls, prune, rm },
});
