import { type GroupDef, def, filterFlag, formatFlag } from './command-def.js';
import { systemPrune } from './prune-search-commands.js';

/** `df`, `info`, `version`, `events` and the `system` group: usage, flags, argument rules. */

const system = () => import('./commands/system.js');

export const df = def({
  name: 'df',
  usage: '[OPTIONS]',
  description: 'Show Berth disk usage',
  flags: [formatFlag(), { long: 'verbose', short: 'v', type: 'bool', description: 'Show detailed information on space usage' }],
  args: { max: 0 },
  load: () => system().then((m) => m.df),
});

export const info = def({
  name: 'info',
  usage: '[OPTIONS]',
  description: 'Display system-wide information',
  flags: [{ ...formatFlag(), short: 'f' }],
  args: { max: 0 },
  load: () => system().then((m) => m.info),
});

export const version = def({
  name: 'version',
  usage: '[OPTIONS]',
  description: 'Show the Berth version information',
  flags: [{ ...formatFlag(), short: 'f' }],
  args: { max: 0 },
  load: () => system().then((m) => m.version),
});

export const events = def({
  name: 'events',
  usage: '[OPTIONS]',
  description: 'Get real time events from the server',
  flags: [
    filterFlag('f'),
    formatFlag(),
    { long: 'since', type: 'string', description: 'Show all events created since timestamp' },
    { long: 'until', type: 'string', description: 'Stream events until this timestamp' },
  ],
  args: { max: 0 },
  load: () => system().then((m) => m.events),
});

export const systemGroup: GroupDef = {
  name: 'system',
  description: 'Manage Berth',
  commands: { df, events, info, prune: systemPrune },
};
