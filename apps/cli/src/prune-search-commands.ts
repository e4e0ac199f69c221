import { def, filterFlag, formatFlag, noTruncFlag, pruneCommand } from './command-def.js';

/** The prune commands (`container prune`, `image prune`, `system prune`) and `berth search`: usage, flags, argument rules. */

const containers = () => import('./commands/containers.js');
const images = () => import('./commands/images.js');


export const systemPrune = pruneCommand('Remove unused data', () => import('./commands/system-prune.js').then((m) => m.systemPrune), {
  all: 'Remove all unused images not just dangling ones',
  filter: 'label=<key>=<value>',
  flags: [{ long: 'volumes', type: 'bool', description: 'Prune anonymous volumes' }],
});

export const search = def({
  name: 'search',
  usage: '[OPTIONS] TERM',
  description: "Search a registry for images (the platform's registry, or the one the term names: host:port/term)",
  flags: [
    filterFlag('f'),
    formatFlag('Pretty-print search using a Go template'),
    { long: 'limit', type: 'int', description: 'Max number of search results' },
    noTruncFlag,
  ],
  args: { min: 1, max: 1 },
  load: () => import('./commands/search.js').then((m) => m.search),
});

export const containerPrune = pruneCommand('Remove all stopped containers', () => containers().then((m) => m.prune), { filter: 'until=<timestamp>' });

export const imagePrune = pruneCommand('Remove unused images', () => images().then((m) => m.prune), {
  all: 'Remove all unused images, not just dangling ones',
  filter: 'until=<timestamp>',
});
