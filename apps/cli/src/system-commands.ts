import { commandsIn, filterFlag, formatFlag, type GroupDef } from './command-def.js';
import { systemPrune } from './prune-search-commands.js';

/** `df`, `info`, `version`, `events` and the `system` group: usage, flags, argument rules. */

const fromSystem = commandsIn(() => import('./commands/system.js'));
const fromEvents = commandsIn(() => import('./commands/events.js'));

export const df = fromSystem('df', {
  usage: '[OPTIONS]',
  description: 'Show Berth disk usage',
  flags: [formatFlag(), { long: 'verbose', short: 'v', type: 'bool', description: 'Show detailed information on space usage' }],
});

export const info = fromSystem('info', {
  usage: '[OPTIONS]',
  description: 'Display system-wide information',
  flags: [{ ...formatFlag(), short: 'f' }],
});

export const version = fromSystem('version', {
  usage: '[OPTIONS]',
  description: 'Show the Berth version information',
  flags: [{ ...formatFlag(), short: 'f' }],
});

export const events = fromEvents('events', {
  usage: '[OPTIONS]',
  description: 'Get real time events from the server',
  flags: [
    filterFlag('f'),
    formatFlag(),
    { long: 'since', type: 'string', description: 'Show all events created since timestamp' },
    { long: 'until', type: 'string', description: 'Stream events until this timestamp' },
  ],
});

export const systemGroup: GroupDef = {
  name: 'system',
  description: 'Manage Berth',
  commands: { df, events, info, prune: systemPrune },
};
