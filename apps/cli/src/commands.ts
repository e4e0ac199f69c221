import type { CommandContext } from './context.js';
import type { ArgRule, FlagSpec, ParsedArgs } from './flags.js';
import { healthFlags } from './health-flags.js';
import { mountFlags } from './mount-flags.js';
import { securityFlags } from './security-flags.js';
import { volumeGroup } from './volume-commands.js';
import { networkFlags } from './network-flags.js';
import { networkGroup, port } from './network-commands.js';

/**
 * The command table: every `berth` command with docker's usage line, flags and argument rule.
 * Handlers live in ./commands/*.ts and are imported only when their command runs, so that
 * `berth --version` and `berth run --help` do not load gRPC.
 */
export type Handler = (ctx: CommandContext, parsed: ParsedArgs) => Promise<number>;

export interface CommandDef {
  name: string;
  /** What follows the command path on docker's Usage line. */
  usage: string;
  description: string;
  flags: FlagSpec[];
  args: ArgRule;
  /** false: options stop at the first argument (the rest belongs to the container's command). */
  interspersed?: boolean;
  /** Errors are reported as `docker run` does: `berth: …`, a help hint, exit 125. */
  runStyle?: boolean;
  load: () => Promise<Handler>;
}

export interface GroupDef {
  name: string;
  description: string;
  /** Subcommands by every name they answer to (`ls`, `list`, `ps`). */
  commands: Record<string, CommandDef>;
}

const containers = () => import('./commands/containers.js');
const streams = () => import('./commands/run.js');
const images = () => import('./commands/images.js');
const system = () => import('./commands/system.js');
const registry = () => import('./commands/registry.js');
const registryAdmin = () => import('./commands/registry-admin.js');
const builds = () => import('./commands/build.js');

const formatFlag = (description = 'Format output using a custom template'): FlagSpec => ({ long: 'format', type: 'string', description });
const filterFlag = (short?: string): FlagSpec => ({ long: 'filter', short, type: 'filter', description: 'Filter output based on conditions provided' });

const createFlags: FlagSpec[] = [
  { long: 'env', short: 'e', type: 'list', description: 'Set environment variables' },
  { long: 'env-file', type: 'list', description: 'Read in a file of environment variables' },
  { long: 'entrypoint', type: 'string', description: 'Overwrite the default ENTRYPOINT of the image' },
  { long: 'hostname', short: 'h', type: 'string', description: 'Container host name' },
  { long: 'init', type: 'bool', description: 'Run an init inside the container that forwards signals and reaps processes' },
  { long: 'interactive', short: 'i', type: 'bool', description: 'Keep STDIN open even if not attached' },
  { long: 'label', short: 'l', type: 'list', description: 'Set meta data on a container' },
  { long: 'label-file', type: 'list', description: 'Read in a line delimited file of labels' },
  { long: 'memory', short: 'm', type: 'bytes', description: 'Memory limit' },
  { long: 'cpus', type: 'decimal', description: 'Number of CPUs' },
  { long: 'name', type: 'string', description: 'Assign a name to the container' },
  { long: 'pids-limit', type: 'int', description: 'Tune container pids limit (set -1 for unlimited)' },
  { long: 'pull', type: 'string', default: 'missing', description: 'Pull image before running ("always", "missing", "never")' },
  { long: 'restart', type: 'string', default: 'no', description: 'Restart policy to apply when a container exits' },
  { long: 'rm', type: 'bool', description: 'Automatically remove the container and its associated anonymous volumes when it exits' },
  { long: 'stop-signal', type: 'string', description: 'Signal to stop the container' },
  { long: 'stop-timeout', type: 'int', description: 'Timeout (in seconds) to stop a container' },
  { long: 'tty', short: 't', type: 'bool', description: 'Allocate a pseudo-TTY' },
  { long: 'user', short: 'u', type: 'string', description: 'Username or UID (format: "<name|uid>[:<group|gid>]")' },
  { long: 'workdir', short: 'w', type: 'string', description: 'Working directory inside the container' },
  ...mountFlags,
  ...networkFlags,
  ...healthFlags,
  ...securityFlags,
];

const def = (d: CommandDef): CommandDef => d;

export const run = def({
  name: 'run',
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  description: 'Create and run a new container from an image',
  flags: [
    ...createFlags,
    { long: 'detach', short: 'd', type: 'bool', description: 'Run container in background and print container ID' },
    { long: 'sig-proxy', type: 'bool', default: true, description: 'Proxy received signals to the process' },
  ],
  args: { min: 1 },
  interspersed: false,
  runStyle: true,
  load: () => streams().then((m) => m.run),
});

export const create = def({
  name: 'create',
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  description: 'Create a new container',
  flags: createFlags,
  args: { min: 1 },
  interspersed: false,
  runStyle: true,
  load: () => streams().then((m) => m.create),
});

export const start = def({
  name: 'start',
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Start one or more stopped containers',
  flags: [
    { long: 'attach', short: 'a', type: 'bool', description: 'Attach STDOUT/STDERR and forward signals' },
    { long: 'interactive', short: 'i', type: 'bool', description: "Attach container's STDIN" },
  ],
  args: { min: 1 },
  load: () => streams().then((m) => m.start),
});

const stopFlags: FlagSpec[] = [
  { long: 'signal', short: 's', type: 'string', description: 'Signal to send to the container' },
  { long: 'timeout', short: 't', type: 'int', aliases: ['time'], description: 'Seconds to wait before killing the container' },
];

export const stop = def({
  name: 'stop',
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Stop one or more running containers',
  flags: stopFlags,
  args: { min: 1 },
  load: () => containers().then((m) => m.stop),
});

export const restart = def({
  name: 'restart',
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Restart one or more containers',
  flags: stopFlags,
  args: { min: 1 },
  load: () => containers().then((m) => m.restart),
});

export const kill = def({
  name: 'kill',
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Kill one or more running containers',
  flags: [{ long: 'signal', short: 's', type: 'string', description: 'Signal to send to the container' }],
  args: { min: 1 },
  load: () => containers().then((m) => m.kill),
});

export const rm = def({
  name: 'rm',
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Remove one or more containers',
  flags: [
    { long: 'force', short: 'f', type: 'bool', description: 'Force the removal of a running container (uses SIGKILL)' },
    { long: 'volumes', short: 'v', type: 'bool', description: 'Remove anonymous volumes associated with the container' },
  ],
  args: { min: 1 },
  load: () => containers().then((m) => m.rm),
});

export const pause = def({
  name: 'pause',
  usage: 'CONTAINER [CONTAINER...]',
  description: 'Pause all processes within one or more containers',
  flags: [],
  args: { min: 1 },
  load: () => containers().then((m) => m.pause),
});

export const unpause = def({
  name: 'unpause',
  usage: 'CONTAINER [CONTAINER...]',
  description: 'Unpause all processes within one or more containers',
  flags: [],
  args: { min: 1 },
  load: () => containers().then((m) => m.unpause),
});

export const wait = def({
  name: 'wait',
  usage: 'CONTAINER [CONTAINER...]',
  description: 'Block until one or more containers stop, then print their exit codes',
  flags: [],
  args: { min: 1 },
  load: () => containers().then((m) => m.wait),
});

export const rename = def({
  name: 'rename',
  usage: 'CONTAINER NEW_NAME',
  description: 'Rename a container',
  flags: [],
  args: { min: 2, max: 2 },
  load: () => containers().then((m) => m.rename),
});

export const ps = def({
  name: 'ps',
  usage: '[OPTIONS]',
  description: 'List containers',
  flags: [
    { long: 'all', short: 'a', type: 'bool', description: 'Show all containers (default shows just running)' },
    filterFlag('f'),
    formatFlag(),
    { long: 'last', short: 'n', type: 'int', default: -1, description: 'Show n last created containers (includes all states)' },
    { long: 'latest', short: 'l', type: 'bool', description: 'Show the latest created container (includes all states)' },
    { long: 'no-trunc', type: 'bool', description: "Don't truncate output" },
    { long: 'quiet', short: 'q', type: 'bool', description: 'Only display container IDs' },
    { long: 'size', short: 's', type: 'bool', description: 'Display total file sizes' },
  ],
  args: { max: 0 },
  load: () => containers().then((m) => m.ps),
});

export const logs = def({
  name: 'logs',
  usage: '[OPTIONS] CONTAINER',
  description: 'Fetch the logs of a container',
  flags: [
    { long: 'follow', short: 'f', type: 'bool', description: 'Follow log output' },
    { long: 'since', type: 'string', description: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
    { long: 'tail', short: 'n', type: 'string', default: 'all', description: 'Number of lines to show from the end of the logs' },
    { long: 'timestamps', short: 't', type: 'bool', description: 'Show timestamps' },
    { long: 'until', type: 'string', description: 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
  ],
  args: { min: 1, max: 1 },
  load: () => containers().then((m) => m.logs),
});

export const exec = def({
  name: 'exec',
  usage: '[OPTIONS] CONTAINER COMMAND [ARG...]',
  description: 'Execute a command in a running container',
  flags: [
    { long: 'detach', short: 'd', type: 'bool', description: 'Detached mode: run command in the background' },
    { long: 'env', short: 'e', type: 'list', description: 'Set environment variables' },
    { long: 'env-file', type: 'list', description: 'Read in a file of environment variables' },
    { long: 'interactive', short: 'i', type: 'bool', description: 'Keep STDIN open even if not attached' },
    { long: 'privileged', type: 'bool', description: 'Give extended privileges to the command' },
    { long: 'tty', short: 't', type: 'bool', description: 'Allocate a pseudo-TTY' },
    { long: 'user', short: 'u', type: 'string', description: 'Username or UID (format: "<name|uid>[:<group|gid>]")' },
    { long: 'workdir', short: 'w', type: 'string', description: 'Working directory inside the container' },
  ],
  args: { min: 2 },
  interspersed: false,
  load: () => streams().then((m) => m.exec),
});

export const attach = def({
  name: 'attach',
  usage: '[OPTIONS] CONTAINER',
  description: 'Attach local standard input, output, and error streams to a running container',
  flags: [
    { long: 'no-stdin', type: 'bool', description: 'Do not attach STDIN' },
    { long: 'sig-proxy', type: 'bool', default: true, description: 'Proxy all received signals to the process' },
  ],
  args: { min: 1, max: 1 },
  load: () => streams().then((m) => m.attach),
});

export const top = def({
  name: 'top',
  usage: 'CONTAINER [ps OPTIONS]',
  description: 'Display the running processes of a container',
  flags: [],
  args: { min: 1 },
  interspersed: false,
  load: () => containers().then((m) => m.top),
});

const inspectFormat = formatFlag('Format output using a custom template');

export const inspect = def({
  name: 'inspect',
  usage: '[OPTIONS] NAME|ID [NAME|ID...]',
  description: 'Return low-level information on Berth objects',
  flags: [
    { ...inspectFormat, short: 'f' },
    { long: 'type', type: 'string', description: 'Only inspect objects of the given type' },
  ],
  args: { min: 1 },
  load: () => containers().then((m) => m.inspect),
});

export const containerInspect = def({
  ...inspect,
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Display detailed information on one or more containers',
  flags: [{ ...inspectFormat, short: 'f' }],
  load: () => containers().then((m) => m.containerInspect),
});

export const stats = def({
  name: 'stats',
  usage: '[OPTIONS] [CONTAINER...]',
  description: 'Display a live stream of container(s) resource usage statistics',
  flags: [
    { long: 'all', short: 'a', type: 'bool', description: 'Show all containers (default shows just running)' },
    formatFlag(),
    { long: 'no-stream', type: 'bool', description: 'Disable streaming stats and only pull the first result' },
    { long: 'no-trunc', type: 'bool', description: 'Do not truncate output' },
  ],
  args: {},
  load: () => containers().then((m) => m.stats),
});

export const diff = def({
  name: 'diff',
  usage: 'CONTAINER',
  description: "Inspect changes to files or directories on a container's filesystem",
  flags: [],
  args: { min: 1, max: 1 },
  load: () => containers().then((m) => m.diff),
});

export const exportCommand = def({
  name: 'export',
  usage: '[OPTIONS] CONTAINER',
  description: "Export a container's filesystem as a tar archive",
  flags: [{ long: 'output', short: 'o', type: 'string', description: 'Write to a file, instead of STDOUT' }],
  args: { min: 1, max: 1 },
  load: () => containers().then((m) => m.exportContainer),
});

export const containerPrune = def({
  name: 'prune',
  usage: '[OPTIONS]',
  description: 'Remove all stopped containers',
  flags: [
    { long: 'filter', type: 'filter', description: 'Provide filter values (e.g. "until=<timestamp>")' },
    { long: 'force', short: 'f', type: 'bool', description: 'Do not prompt for confirmation' },
  ],
  args: { max: 0 },
  load: () => containers().then((m) => m.prune),
});

export const commit = def({
  name: 'commit',
  usage: '[OPTIONS] CONTAINER [REPOSITORY[:TAG]]',
  description: "Create a new image from a container's changes",
  flags: [
    { long: 'author', short: 'a', type: 'string', description: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")' },
    { long: 'change', short: 'c', type: 'list', description: 'Apply Dockerfile instruction to the created image' },
    { long: 'message', short: 'm', type: 'string', description: 'Commit message' },
    { long: 'pause', short: 'p', type: 'bool', default: true, description: 'Pause container during commit' },
  ],
  args: { min: 1, max: 2 },
  load: () => images().then((m) => m.commit),
});

export const imagesCommand = def({
  name: 'images',
  usage: '[OPTIONS] [REPOSITORY[:TAG]]',
  description: 'List images',
  flags: [
    { long: 'all', short: 'a', type: 'bool', description: 'Show all images (default hides intermediate images)' },
    { long: 'digests', type: 'bool', description: 'Show digests' },
    filterFlag('f'),
    formatFlag(),
    { long: 'no-trunc', type: 'bool', description: "Don't truncate output" },
    { long: 'quiet', short: 'q', type: 'bool', description: 'Only show image IDs' },
  ],
  args: { max: 1 },
  load: () => images().then((m) => m.images),
});

export const imageInspect = def({
  name: 'inspect',
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  description: 'Display detailed information on one or more images',
  flags: [{ ...inspectFormat, short: 'f' }],
  args: { min: 1 },
  load: () => containers().then((m) => m.imageInspect),
});

export const history = def({
  name: 'history',
  usage: '[OPTIONS] IMAGE',
  description: 'Show the history of an image',
  flags: [
    formatFlag(),
    { long: 'human', short: 'H', type: 'bool', default: true, description: 'Print sizes and dates in human readable format' },
    { long: 'no-trunc', type: 'bool', description: "Don't truncate output" },
    { long: 'quiet', short: 'q', type: 'bool', description: 'Only show image IDs' },
  ],
  args: { min: 1, max: 1 },
  load: () => images().then((m) => m.history),
});

export const tag = def({
  name: 'tag',
  usage: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
  description: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  flags: [],
  args: { min: 2, max: 2 },
  load: () => images().then((m) => m.tag),
});

export const rmi = def({
  name: 'rmi',
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  description: 'Remove one or more images',
  flags: [
    { long: 'force', short: 'f', type: 'bool', description: 'Force removal of the image' },
    { long: 'no-prune', type: 'bool', description: 'Do not delete untagged parents' },
  ],
  args: { min: 1 },
  load: () => images().then((m) => m.rmi),
});

export const imagePrune = def({
  name: 'prune',
  usage: '[OPTIONS]',
  description: 'Remove unused images',
  flags: [
    { long: 'all', short: 'a', type: 'bool', description: 'Remove all unused images, not just dangling ones' },
    { long: 'filter', type: 'filter', description: 'Provide filter values (e.g. "until=<timestamp>")' },
    { long: 'force', short: 'f', type: 'bool', description: 'Do not prompt for confirmation' },
  ],
  args: { max: 0 },
  load: () => images().then((m) => m.prune),
});

export const importCommand = def({
  name: 'import',
  usage: '[OPTIONS] file|- [REPOSITORY[:TAG]]',
  description: 'Import the contents from a tarball to create a filesystem image',
  flags: [
    { long: 'change', short: 'c', type: 'list', description: 'Apply Dockerfile instruction to the created image' },
    { long: 'message', short: 'm', type: 'string', description: 'Set commit message for imported image' },
  ],
  args: { min: 1, max: 2 },
  load: () => images().then((m) => m.importImage),
});

export const save = def({
  name: 'save',
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  description: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
  flags: [{ long: 'output', short: 'o', type: 'string', description: 'Write to a file, instead of STDOUT' }],
  args: { min: 1 },
  load: () => images().then((m) => m.save),
});

export const load = def({
  name: 'load',
  usage: '[OPTIONS]',
  description: 'Load an image from a tar archive or STDIN',
  flags: [
    { long: 'input', short: 'i', type: 'string', description: 'Read from tar archive file, instead of STDIN' },
    { long: 'quiet', short: 'q', type: 'bool', description: 'Suppress the load output' },
  ],
  args: { max: 0 },
  load: () => images().then((m) => m.load),
});

export const bootstrap = def({
  name: 'bootstrap',
  usage: 'busybox|debian [NAME[:TAG]]',
  description: 'Make a base image without a registry (busybox from busybox-static, debian with debootstrap)',
  flags: [],
  args: { min: 1, max: 2 },
  load: () => images().then((m) => m.bootstrap),
});

export const pull = def({
  name: 'pull',
  usage: '[OPTIONS] NAME[:TAG|@DIGEST]',
  description: 'Download an image from a registry',
  flags: [
    { long: 'all-tags', short: 'a', type: 'bool', description: 'Download all tagged images in the repository' },
    { long: 'platform', type: 'string', description: 'Set platform if server is multi-platform capable' },
    { long: 'quiet', short: 'q', type: 'bool', description: 'Suppress verbose output' },
  ],
  args: { min: 1, max: 1 },
  load: () => registry().then((m) => m.pull),
});

export const push = def({
  name: 'push',
  usage: '[OPTIONS] NAME[:TAG]',
  description: 'Upload an image to a registry',
  flags: [
    { long: 'all-tags', short: 'a', type: 'bool', description: 'Push all tags of an image to the repository' },
    { long: 'quiet', short: 'q', type: 'bool', description: 'Suppress verbose output' },
  ],
  args: { min: 1, max: 1 },
  load: () => registry().then((m) => m.push),
});

export const login = def({
  name: 'login',
  usage: '[OPTIONS] [SERVER]',
  description: 'Log in to a registry',
  flags: [
    { long: 'password', short: 'p', type: 'string', description: 'Password' },
    { long: 'password-stdin', type: 'bool', description: 'Take the password from stdin' },
    { long: 'username', short: 'u', type: 'string', description: 'Username' },
  ],
  args: { max: 1 },
  load: () => registry().then((m) => m.login),
});

export const logout = def({
  name: 'logout',
  usage: '[SERVER]',
  description: 'Log out from a registry',
  flags: [],
  args: { max: 1 },
  load: () => registry().then((m) => m.logout),
});

export const df = def({
  name: 'df',
  usage: '[OPTIONS]',
  description: 'Show Berth disk usage',
  flags: [formatFlag()],
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

export const build = def({
  name: 'build',
  usage: '[OPTIONS] PATH | -',
  description: 'Build an image from a Dockerfile',
  flags: [
    { long: 'build-arg', type: 'list', description: 'Set build-time variables' },
    { long: 'cache-from', type: 'list', description: 'External cache sources (e.g., "type=registry,ref=host/repo:cache")' },
    { long: 'cache-to', type: 'list', description: 'Cache export destinations (e.g., "type=registry,ref=host/repo:cache")' },
    { long: 'file', short: 'f', type: 'string', description: 'Name of the Dockerfile (default: "PATH/Dockerfile")' },
    { long: 'iidfile', type: 'string', description: 'Write the image ID to a file' },
    { long: 'label', type: 'list', description: 'Set metadata for an image' },
    { long: 'no-cache', type: 'bool', description: 'Do not use cache when building the image' },
    { long: 'no-cache-filter', type: 'list', description: 'Do not cache specified stages' },
    { long: 'output', short: 'o', type: 'string', description: 'Output destination (format: "type=local,dest=path")' },
    { long: 'progress', type: 'string', default: 'auto', description: 'Set type of progress output ("auto", "plain", "tty", "quiet")' },
    { long: 'pull', type: 'bool', description: 'Always attempt to pull all referenced images' },
    { long: 'push', type: 'bool', description: 'Shorthand for "--output=type=registry": push the tags once built' },
    { long: 'quiet', short: 'q', type: 'bool', description: 'Suppress the build output and print image ID on success' },
    { long: 'squash', type: 'bool', description: 'Squash newly built layers into a single new layer' },
    { long: 'tag', short: 't', type: 'list', description: 'Name and optionally a tag (format: "name:tag")' },
    { long: 'target', type: 'string', description: 'Set the target build stage to build' },
  ],
  args: { min: 1, max: 1 },
  load: () => builds().then((m) => m.build),
});

export const builderGroup: GroupDef = {
  name: 'builder',
  description: 'Manage builds',
  commands: {
    build,
    prune: def({
      name: 'prune',
      usage: '[OPTIONS]',
      description: 'Remove build cache',
      flags: [
        { long: 'all', short: 'a', type: 'bool', description: 'Remove all unused build cache, not just dangling ones' },
        { long: 'force', short: 'f', type: 'bool', description: 'Do not prompt for confirmation' },
      ],
      args: { max: 0 },
      load: () => builds().then((m) => m.builderPrune),
    }),
  },
};

function withName(d: CommandDef, name: string): CommandDef {
  return { ...d, name };
}

export const containerGroup: GroupDef = {
  name: 'container',
  description: 'Manage containers',
  commands: {
    attach,
    commit,
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
    wait,
  },
};

export const imageGroup: GroupDef = {
  name: 'image',
  description: 'Manage images',
  commands: {
    bootstrap,
    history,
    import: importCommand,
    inspect: imageInspect,
    load,
    ls: withName(imagesCommand, 'ls'),
    list: withName(imagesCommand, 'list'),
    prune: imagePrune,
    pull,
    push,
    rm: withName(rmi, 'rm'),
    remove: withName(rmi, 'remove'),
    save,
    tag,
  },
};

const jsonFormatFlag: FlagSpec = { long: 'format', type: 'string', description: 'Format output: "json" for the raw answer' };

export const registryGroup: GroupDef = {
  name: 'registry',
  description: "Manage the platform's registry",
  commands: {
    df: def({
      name: 'df',
      usage: '[OPTIONS]',
      description: 'Show the registry storage usage per repository',
      flags: [jsonFormatFlag],
      args: { max: 0 },
      load: () => registryAdmin().then((m) => m.df),
    }),
    gc: def({
      name: 'gc',
      usage: '[OPTIONS]',
      description: 'Remove blobs no manifest references, and stale uploads',
      flags: [
        { long: 'dry-run', type: 'bool', description: 'Only list what would be removed' },
        { long: 'grace', type: 'string', description: 'Keep blobs and uploads touched within this duration, e.g. "30m" or "0" (default "1h")' },
        jsonFormatFlag,
      ],
      args: { max: 0 },
      load: () => registryAdmin().then((m) => m.gc),
    }),
    ls: def({
      name: 'ls',
      usage: '[OPTIONS]',
      description: 'List the repositories and tags of the registry',
      flags: [jsonFormatFlag],
      args: { max: 0 },
      load: () => registryAdmin().then((m) => m.ls),
    }),
  },
};

export const systemGroup: GroupDef = {
  name: 'system',
  description: 'Manage Berth',
  commands: { df, events, info },
};

/** Top-level commands (docker's shortcuts) and groups. `platform` is dispatched separately. */
export const topLevel: Record<string, CommandDef | GroupDef> = {
  attach,
  build,
  builder: builderGroup,
  commit,
  container: containerGroup,
  create,
  diff,
  events,
  exec,
  export: exportCommand,
  history,
  image: imageGroup,
  images: imagesCommand,
  import: importCommand,
  info,
  inspect,
  kill,
  load,
  login,
  logout,
  logs,
  network: networkGroup,
  pause,
  port,
  ps,
  pull,
  push,
  registry: registryGroup,
  rename,
  restart,
  rm,
  rmi,
  run,
  save,
  start,
  stats,
  stop,
  system: systemGroup,
  tag,
  top,
  unpause,
  version,
  volume: volumeGroup,
  wait,
};

export function isGroup(entry: CommandDef | GroupDef): entry is GroupDef {
  return 'commands' in entry;
}
