import { allFlag, changeFlag, commandsIn, def, detachFlag, filterFlag, forceFlag, formatFlag, type GroupDef, inspectFormatFlag, noTruncFlag, outputFileFlag, quietFlag, withName } from './command-def.js';
import { cp, update } from './copy-update-commands.js';
import { type FlagSpec, validateEnv, validateLabel } from './flags.js';
import { healthFlags } from './health-flags.js';
import { mountFlags } from './mount-flags.js';
import { port } from './network-commands.js';
import { networkFlags } from './network-flags.js';
import { containerPrune } from './prune-search-commands.js';
import { resourceFlags } from './resource-flags.js';
import { runFlags } from './run-flags.js';
import { securityFlags } from './security-flags.js';

/** The container commands (`run`, `ps`, `logs`, …, and the `container` group): usage, flags, argument rules. */

const fromImages = commandsIn(() => import('./commands/images.js'));

const containers = () => import('./commands/containers.js');
const fromContainers = commandsIn(containers);
// `rm`, `ps`, `inspect` and `stats` are modules of their own: their packs and code caches hold what they run.
const fromList = commandsIn(() => import('./commands/container-list.js'));
const inspecting = () => import('./commands/inspect.js');
const fromInspect = commandsIn(inspecting);
const fromStats = commandsIn(() => import('./commands/container-stats.js'));

const fromStreams = commandsIn(() => import('./commands/run.js'));
const fromContainerStreams = commandsIn(() => import('./commands/container-streams.js'));

/** How the container's (or exec's) process runs: its environment, stdin, terminal, user and directory. */
const processFlags: FlagSpec[] = [
  { long: 'env', short: 'e', type: 'list', validate: validateEnv, description: 'Set environment variables' },
  { long: 'env-file', type: 'list', description: 'Read in a file of environment variables' },
  { long: 'interactive', short: 'i', type: 'bool', description: 'Keep STDIN open even if not attached' },
  { long: 'tty', short: 't', type: 'bool', description: 'Allocate a pseudo-TTY' },
  { long: 'user', short: 'u', type: 'string', description: 'Username or UID (format: "<name|uid>[:<group|gid>]")' },
  { long: 'workdir', short: 'w', type: 'string', description: 'Working directory inside the container' },
];

/** `ps`'s and `stats`'s. */
const allContainersFlag = allFlag('Show all containers (default shows just running)');

const signalFlag: FlagSpec = { long: 'signal', short: 's', type: 'string', description: 'Signal to send to the container' };

const createFlags: FlagSpec[] = [
  { long: 'entrypoint', type: 'string', description: 'Overwrite the default ENTRYPOINT of the image' },
  { long: 'hostname', short: 'h', type: 'string', description: 'Container host name' },
  { long: 'init', type: 'bool', description: 'Run an init inside the container that forwards signals and reaps processes' },
  { long: 'label', short: 'l', type: 'list', validate: validateLabel, description: 'Set meta data on a container' },
  { long: 'label-file', type: 'list', description: 'Read in a line delimited file of labels' },
  { long: 'name', type: 'string', description: 'Assign a name to the container' },
  { long: 'pull', type: 'string', default: 'missing', description: 'Pull image before running ("always", "missing", "never")' },
  { long: 'restart', type: 'string', default: 'no', description: 'Restart policy to apply when a container exits' },
  { long: 'rm', type: 'bool', description: 'Automatically remove the container and its associated anonymous volumes when it exits' },
  { long: 'stop-signal', type: 'string', description: 'Signal to stop the container' },
  { long: 'stop-timeout', type: 'int', bits: 32, description: 'Timeout (in seconds) to stop a container' },
  ...processFlags,
  ...mountFlags,
  ...networkFlags,
  ...healthFlags,
  ...securityFlags,
  ...resourceFlags,
  ...runFlags,
];

export const run = fromStreams('run', {
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  description: 'Create and run a new container from an image',
  flags: [
    ...createFlags,
    detachFlag('Run container in background and print container ID'),
    { long: 'sig-proxy', type: 'bool', default: true, description: 'Proxy received signals to the process' },
  ],
  interspersed: false,
  runStyle: true,
});

export const create = fromStreams('create', {
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  description: 'Create a new container',
  flags: createFlags,
  interspersed: false,
  runStyle: true,
});

/**
 * A command over one or more containers, with docker's usage line for it: `[OPTIONS] CONTAINER
 * [CONTAINER...]`, without `[OPTIONS]` when it has no flags.
 */
function onContainers(handler: Parameters<typeof fromContainers>[0], description: string, flags: FlagSpec[] = []) {
  return fromContainers(handler, { usage: `${flags.length > 0 ? '[OPTIONS] ' : ''}CONTAINER [CONTAINER...]`, description, flags });
}

export const start = onContainers('start', 'Start one or more stopped containers', [
  { long: 'attach', short: 'a', type: 'bool', description: 'Attach STDOUT/STDERR and forward signals' },
  { long: 'interactive', short: 'i', type: 'bool', description: "Attach container's STDIN" },
]);

const stopFlags: FlagSpec[] = [
  signalFlag,
  { long: 'timeout', short: 't', type: 'int', bits: 32, aliases: ['time'], description: 'Seconds to wait before killing the container' },
];

export const stop = onContainers('stop', 'Stop one or more running containers', stopFlags);
export const restart = onContainers('restart', 'Restart one or more containers', stopFlags);
export const kill = onContainers('kill', 'Kill one or more running containers', [signalFlag]);
export const rm = commandsIn(() => import('./commands/container-remove.js'))('rm', {
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Remove one or more containers',
  flags: [
    forceFlag('Force the removal of a running container (uses SIGKILL)'),
    { long: 'volumes', short: 'v', type: 'bool', description: 'Remove anonymous volumes associated with the container' },
  ],
});
export const pause = onContainers('pause', 'Pause all processes within one or more containers');
export const unpause = onContainers('unpause', 'Unpause all processes within one or more containers');
export const wait = onContainers('wait', 'Block until one or more containers stop, then print their exit codes');

export const rename = fromContainers('rename', {
  usage: 'CONTAINER NEW_NAME',
  description: 'Rename a container',
});

export const ps = fromList('ps', {
  usage: '[OPTIONS]',
  description: 'List containers',
  flags: [
    allContainersFlag,
    filterFlag('f'),
    formatFlag(),
    { long: 'last', short: 'n', type: 'int', default: -1, description: 'Show n last created containers (includes all states)' },
    { long: 'latest', short: 'l', type: 'bool', description: 'Show the latest created container (includes all states)' },
    noTruncFlag,
    quietFlag('Only display container IDs'),
    { long: 'size', short: 's', type: 'bool', description: 'Display total file sizes' },
  ],
});

export const logs = fromContainerStreams('logs', {
  usage: '[OPTIONS] CONTAINER',
  description: 'Fetch the logs of a container',
  flags: [
    { long: 'details', type: 'bool', description: 'Show extra details provided to logs' },
    { long: 'follow', short: 'f', type: 'bool', description: 'Follow log output' },
    { long: 'since', type: 'string', description: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
    { long: 'tail', short: 'n', type: 'string', default: 'all', description: 'Number of lines to show from the end of the logs' },
    { long: 'timestamps', short: 't', type: 'bool', description: 'Show timestamps' },
    { long: 'until', type: 'string', description: 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
  ],
});

export const exec = fromStreams('exec', {
  usage: '[OPTIONS] CONTAINER COMMAND [ARG...]',
  description: 'Execute a command in a running container',
  flags: [
    detachFlag('Detached mode: run command in the background'),
    { long: 'privileged', type: 'bool', description: 'Give extended privileges to the command' },
    ...processFlags,
  ],
  interspersed: false,
});

export const attach = fromStreams('attach', {
  usage: '[OPTIONS] CONTAINER',
  description: 'Attach local standard input, output, and error streams to a running container',
  flags: [
    { long: 'no-stdin', type: 'bool', description: 'Do not attach STDIN' },
    { long: 'sig-proxy', type: 'bool', default: true, description: 'Proxy all received signals to the process' },
  ],
});

export const top = fromContainers('top', {
  usage: 'CONTAINER [ps OPTIONS]',
  description: 'Display the running processes of a container',
  args: { min: 1 },
  interspersed: false,
});

export const inspect = fromInspect('inspect', {
  usage: '[OPTIONS] NAME|ID [NAME|ID...]',
  description: 'Return low-level information on Berth objects',
  flags: [
    inspectFormatFlag,
    { long: 'size', short: 's', type: 'bool', description: 'Display total file sizes if the type is container' },
    { long: 'type', type: 'string', description: 'Only inspect objects of the given type' },
  ],
});

export const containerInspect = def({
  ...inspect,
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Display detailed information on one or more containers',
  flags: [
    inspectFormatFlag,
    { long: 'size', short: 's', type: 'bool', description: 'Display total file sizes' },
  ],
  load: () => inspecting().then((m) => m.containerInspect),
});

export const stats = fromStats('stats', {
  usage: '[OPTIONS] [CONTAINER...]',
  description: 'Display a live stream of container(s) resource usage statistics',
  flags: [
    allContainersFlag,
    formatFlag(),
    { long: 'no-stream', type: 'bool', description: 'Disable streaming stats and only pull the first result' },
    { long: 'no-trunc', type: 'bool', description: 'Do not truncate output' },
  ],
});

export const diff = fromContainers('diff', {
  usage: 'CONTAINER',
  description: "Inspect changes to files or directories on a container's filesystem",
});

export const exportCommand = fromContainerStreams('exportContainer', {
  name: 'export',
  usage: '[OPTIONS] CONTAINER',
  description: "Export a container's filesystem as a tar archive",
  flags: [outputFileFlag],
});

export const commit = fromImages('commit', {
  usage: '[OPTIONS] CONTAINER [REPOSITORY[:TAG]]',
  description: "Create a new image from a container's changes",
  flags: [
    { long: 'author', short: 'a', type: 'string', description: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")' },
    changeFlag,
    { long: 'message', short: 'm', type: 'string', description: 'Commit message' },
    { long: 'pause', short: 'p', type: 'bool', default: true, description: 'Pause container during commit' },
  ],
});

export const containerGroup: GroupDef = {
  name: 'container',
  description: 'Manage containers',
  commands: {
    attach,
    commit,
    cp,
    create,
    diff,
    exec,
    export: exportCommand,
    inspect: containerInspect,
    kill,
    logs,
    ls: withName(ps, 'ls'),
    list: withName(ps, 'list'),
    ps,
    pause,
    port,
    prune: containerPrune,
    rename,
    restart,
    rm,
    remove: withName(rm, 'remove'),
    run,
    start,
    stats,
    stop,
    top,
    unpause,
    update,
    wait,
  },
};
