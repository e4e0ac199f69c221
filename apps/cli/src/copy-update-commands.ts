import { commandsIn, quietFlag } from './command-def.js';
import { updatableResourceFlags } from './resource-flags.js';

/** `berth cp` and `berth update` (docker cp / docker update): usage, flags, argument rules. */

const fromCopies = commandsIn(() => import('./commands/cp.js'));
const fromUpdates = commandsIn(() => import('./commands/update.js'));

export const cp = fromCopies('cp', {
  usage: '[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH',
  description:
    "Copy files/folders between a container and the local filesystem\n\nUse '-' as the source to read a tar archive from stdin\nand extract it to a directory destination in a container.\nUse '-' as the destination to stream a tar archive of a\ncontainer source to stdout.",
  flags: [
    { long: 'archive', short: 'a', type: 'bool', description: 'Archive mode (copy all uid/gid information)' },
    { long: 'follow-link', short: 'L', type: 'bool', description: 'Always follow symbol link in SRC_PATH' },
    quietFlag('Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached'),
  ],
  args: { min: 2, max: 2 },
});

export const update = fromUpdates('update', {
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Update configuration of one or more containers',
  flags: [
    { long: 'restart', type: 'string', description: 'Restart policy to apply when a container exits' },
    ...updatableResourceFlags,
  ],
});
