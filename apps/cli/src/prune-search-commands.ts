import { def, filterFlag, formatFlag, pruneForceFlag } from './command-def.js';

/** The prune commands (`container prune`, `image prune`, `system prune`) and `berth search`: usage, flags, argument rules. */

const containers = () => import('./commands/containers.js');
const images = () => import('./commands/images.js');


export const systemPrune = def({
  name: 'prune',
  usage: '[OPTIONS]',
  description: 'Remove unused data',
  flags: [
    { long: 'all', short: 'a', type: 'bool', description: 'Remove all unused images not just dangling ones' },
    { long: 'filter', type: 'filter', description: 'Provide filter values (e.g. "label=<key>=<value>")' },
    pruneForceFlag,
    { long: 'volumes', type: 'bool', description: 'Prune anonymous volumes' },
  ],
  args: { max: 0 },
  load: () => import('./commands/system-prune.js').then((m) => m.systemPrune),
});

export const search = def({
  name: 'search',
  usage: '[OPTIONS] TERM',
  description: "Search a registry for images (the platform's registry, or the one the term names: host:port/term)",
  flags: [
    filterFlag('f'),
    formatFlag('Pretty-print search using a Go template'),
    { long: 'limit', type: 'int', description: 'Max number of search results' },
    { long: 'no-trunc', type: 'bool', description: "Don't truncate output" },
  ],
  args: { min: 1, max: 1 },
  load: () => import('./commands/search.js').then((m) => m.search),
});

export const containerPrune = def({
  name: 'prune',
  usage: '[OPTIONS]',
  description: 'Remove all stopped containers',
  flags: [
    { long: 'filter', type: 'filter', description: 'Provide filter values (e.g. "until=<timestamp>")' },
    pruneForceFlag,
  ],
  args: { max: 0 },
  load: () => containers().then((m) => m.prune),
});

export const imagePrune = def({
  name: 'prune',
  usage: '[OPTIONS]',
  description: 'Remove unused images',
  flags: [
    { long: 'all', short: 'a', type: 'bool', description: 'Remove all unused images, not just dangling ones' },
    { long: 'filter', type: 'filter', description: 'Provide filter values (e.g. "until=<timestamp>")' },
    pruneForceFlag,
  ],
  args: { max: 0 },
  load: () => images().then((m) => m.prune),
});
