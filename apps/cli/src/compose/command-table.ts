import { type CommandDef, type Handler, noTruncFlag, quietFlag } from '../command-def.js';
import type { FlagSpec } from '../flags.js';

/**
 * The `berth compose` commands that talk to the platform (everything but `config`), with Docker
 * Compose v2's usage lines, flags and descriptions. Handlers live in ./*.ts beside this file and
 * are imported only when their command runs.
 */

const up = () => import('./up.js');
const down = () => import('./down.js');
const listing = () => import('./listing.js');
const logs = () => import('./logs.js');
const lifecycle = () => import('./lifecycle.js');
const execRun = () => import('./exec-run.js');
const images = () => import('./images.js');
const misc = () => import('./misc.js');
const copy = () => import('./copy.js');

const timeout: FlagSpec = { long: 'timeout', short: 't', type: 'int', description: 'Specify a shutdown timeout in seconds' };
const pullFlag: FlagSpec = { long: 'pull', type: 'string', default: 'policy', description: 'Pull image before running ("always"|"missing"|"never"|"build")' };
const services = '[SERVICE...]';
const removeOrphans: FlagSpec = { long: 'remove-orphans', type: 'bool', description: 'Remove containers for services not defined in the Compose file' };
const noDeps: FlagSpec = { long: 'no-deps', type: 'bool', description: "Don't start linked services" };
const noColor: FlagSpec = { long: 'no-color', type: 'bool', description: 'Produce monochrome output' };
const noLogPrefix: FlagSpec = { long: 'no-log-prefix', type: 'bool', description: "Don't print prefix in logs" };
const quietPull: FlagSpec = { long: 'quiet-pull', type: 'bool', description: 'Pull without printing progress information' };
const indexFlag: FlagSpec = { long: 'index', type: 'int', default: 1, description: 'Index of the container if service has multiple replicas' };

function cmd(name: string, description: string, usage: string, flags: FlagSpec[], load: () => Promise<Handler>, extra: Partial<CommandDef> = {}): CommandDef {
  return { name, usage, description, flags, args: {}, load, ...extra };
}

const createFlags: FlagSpec[] = [
  { long: 'build', type: 'bool', description: 'Build images before starting containers' },
  { long: 'force-recreate', type: 'bool', description: "Recreate containers even if their configuration and image haven't changed" },
  { long: 'no-build', type: 'bool', description: "Don't build an image, even if it's policy" },
  { long: 'no-recreate', type: 'bool', description: "If containers already exist, don't recreate them. Incompatible with --force-recreate." },
  pullFlag,
  quietPull,
  removeOrphans,
  { long: 'scale', type: 'list', description: 'Scale SERVICE to NUM instances. Overrides the `scale` setting in the Compose file if present.' },
];

export const composeControllerCommands: Record<string, CommandDef> = {
  up: cmd(
    'up',
    'Create and start containers',
    `[OPTIONS] ${services}`,
    [
      ...createFlags,
      { long: 'abort-on-container-exit', type: 'bool', description: 'Stops all containers if any container was stopped. Incompatible with -d' },
      { long: 'abort-on-container-failure', type: 'bool', description: 'Stops all containers if any container exited with failure. Incompatible with -d' },
      { long: 'attach', type: 'list', description: 'Restrict attaching to the specified services. Incompatible with --attach-dependencies.' },
      { long: 'no-attach', type: 'list', description: "Do not attach (stream logs) to the specified services" },
      { long: 'detach', short: 'd', type: 'bool', description: 'Detached mode: Run containers in the background' },
      { long: 'exit-code-from', type: 'string', description: 'Return the exit code of the selected service container. Implies --abort-on-container-exit' },
      noColor,
      noDeps,
      noLogPrefix,
      { long: 'no-start', type: 'bool', description: "Don't start the services after creating them" },
      { long: 'renew-anon-volumes', short: 'V', type: 'bool', description: 'Recreate anonymous volumes instead of retrieving data from the previous containers' },
      timeout,
      { long: 'timestamps', type: 'bool', description: 'Show timestamps' },
      { long: 'wait', type: 'bool', description: 'Wait for services to be running|healthy. Implies detached mode.' },
      { long: 'wait-timeout', type: 'int', description: 'Maximum duration in seconds to wait for the project to be running|healthy' },
    ],
    () => up().then((m) => m.up as Handler),
  ),
  create: cmd('create', 'Creates containers for a service', `[OPTIONS] ${services}`, createFlags, () => up().then((m) => m.create as Handler)),
  down: cmd(
    'down',
    'Stop and remove containers, networks',
    `[OPTIONS] ${services}`,
    [
      removeOrphans,
      { long: 'rmi', type: 'string', description: 'Remove images used by services. "local" remove only images that don\'t have a custom tag ("local"|"all")' },
      timeout,
      { long: 'volumes', short: 'v', type: 'bool', description: 'Remove named volumes declared in the "volumes" section of the Compose file and anonymous volumes attached to containers' },
    ],
    () => down().then((m) => m.down as Handler),
  ),
  ps: cmd(
    'ps',
    'List containers',
    `[OPTIONS] ${services}`,
    [
      { long: 'all', short: 'a', type: 'bool', description: 'Show all stopped containers (including those created by the run command)' },
      { long: 'filter', type: 'string', description: 'Filter services by a property (supported filters: status)' },
      { long: 'format', type: 'string', default: 'table', description: 'Format output using a custom template: \'table\', \'table TEMPLATE\', \'json\', \'TEMPLATE\'' },
      noTruncFlag,
      { long: 'orphans', type: 'bool', default: true, description: 'Include orphaned services (not declared by project)' },
      quietFlag('Only display IDs'),
      { long: 'services', type: 'bool', description: 'Display services' },
      { long: 'status', type: 'list', description: 'Filter services by status. Values: [paused | restarting | removing | running | dead | created | exited]' },
    ],
    () => listing().then((m) => m.ps as Handler),
  ),
  logs: cmd(
    'logs',
    'View output from containers',
    `[OPTIONS] ${services}`,
    [
      { long: 'follow', short: 'f', type: 'bool', description: 'Follow log output' },
      { long: 'index', type: 'int', description: 'index of the container if service has multiple replicas' },
      noColor,
      noLogPrefix,
      { long: 'since', type: 'string', description: 'Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)' },
      { long: 'tail', short: 'n', type: 'string', default: 'all', description: 'Number of lines to show from the end of the logs for each container' },
      { long: 'timestamps', short: 't', type: 'bool', description: 'Show timestamps' },
      { long: 'until', type: 'string', description: 'Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)' },
    ],
    () => logs().then((m) => m.logs as Handler),
  ),
  build: cmd(
    'build',
    'Build or rebuild services',
    `[OPTIONS] ${services}`,
    [
      { long: 'build-arg', type: 'list', description: 'Set build-time variables for services' },
      { long: 'no-cache', type: 'bool', description: 'Do not use cache when building the image' },
      { long: 'pull', type: 'bool', description: 'Always attempt to pull a newer version of the image' },
      { long: 'push', type: 'bool', description: 'Push service images' },
      quietFlag("Don't print anything to STDOUT"),
      { long: 'with-dependencies', type: 'bool', description: 'Also build dependencies (transitively)' },
    ],
    () => images().then((m) => m.build as Handler),
  ),
  pull: cmd(
    'pull',
    'Pull service images',
    `[OPTIONS] ${services}`,
    [
      { long: 'ignore-buildable', type: 'bool', description: 'Ignore images that can be built' },
      { long: 'ignore-pull-failures', type: 'bool', description: 'Pull what it can and ignores images with pull failures' },
      { long: 'include-deps', type: 'bool', description: 'Also pull services declared as dependencies' },
      { long: 'policy', type: 'string', description: 'Apply pull policy ("missing"|"always")' },
      quietFlag('Pull without printing progress information'),
    ],
    () => images().then((m) => m.pull as Handler),
  ),
  push: cmd(
    'push',
    'Push service images',
    `[OPTIONS] ${services}`,
    [
      { long: 'ignore-push-failures', type: 'bool', description: 'Push what it can and ignores images with push failures' },
      { long: 'include-deps', type: 'bool', description: 'Also push images of services declared as dependencies' },
      quietFlag('Push without printing progress information'),
    ],
    () => images().then((m) => m.push as Handler),
  ),
  images: cmd(
    'images',
    'List images used by the created containers',
    `[OPTIONS] ${services}`,
    [
      { long: 'format', type: 'string', default: 'table', description: 'Format the output. Values: [table | json]' },
      quietFlag('Only display IDs'),
    ],
    () => images().then((m) => m.images as Handler),
  ),
  exec: cmd(
    'exec',
    'Execute a command in a running container',
    '[OPTIONS] SERVICE COMMAND [ARGS...]',
    [
      { long: 'detach', short: 'd', type: 'bool', description: 'Detached mode: Run command in the background' },
      { long: 'env', short: 'e', type: 'list', description: 'Set environment variables' },
      indexFlag,
      { long: 'interactive', short: 'i', type: 'bool', default: true, description: 'Keep STDIN open even if not attached' },
      { long: 'no-TTY', short: 'T', type: 'bool', description: 'Disable pseudo-TTY allocation. By default `docker compose exec` allocates a TTY.' },
      { long: 'privileged', type: 'bool', description: 'Give extended privileges to the process' },
      { long: 'user', short: 'u', type: 'string', description: 'Run the command as this user' },
      { long: 'workdir', short: 'w', type: 'string', description: 'Path to workdir directory for this command' },
    ],
    () => execRun().then((m) => m.exec as Handler),
    { args: { min: 2 }, interspersed: false },
  ),
  run: cmd(
    'run',
    'Run a one-off command on a service',
    '[OPTIONS] SERVICE [COMMAND] [ARGS...]',
    [
      { long: 'build', type: 'bool', description: 'Build image before starting container' },
      { long: 'detach', short: 'd', type: 'bool', description: 'Run container in background and print container ID' },
      { long: 'entrypoint', type: 'string', description: 'Override the entrypoint of the image' },
      { long: 'env', short: 'e', type: 'list', description: 'Set environment variables' },
      { long: 'interactive', short: 'i', type: 'bool', default: true, description: 'Keep STDIN open even if not attached' },
      { long: 'label', short: 'l', type: 'list', description: 'Add or override a label' },
      { long: 'name', type: 'string', description: 'Assign a name to the container' },
      { long: 'no-TTY', short: 'T', type: 'bool', description: 'Disable pseudo-TTY allocation (default: auto-detected)' },
      noDeps,
      { long: 'publish', short: 'p', type: 'list', description: "Publish a container's port(s) to the host" },
      pullFlag,
      quietPull,
      removeOrphans,
      { long: 'rm', type: 'bool', description: 'Automatically remove the container when it exits' },
      { long: 'service-ports', short: 'P', type: 'bool', description: "Run command with all service's ports enabled and mapped to the host" },
      { long: 'use-aliases', type: 'bool', description: "Use the service's network useAliases in the network(s) the container connects to" },
      { long: 'user', short: 'u', type: 'string', description: 'Run as specified username or uid' },
      { long: 'volume', short: 'v', type: 'list', description: 'Bind mount a volume' },
      { long: 'workdir', short: 'w', type: 'string', description: 'Working directory inside the container' },
    ],
    () => execRun().then((m) => m.run as Handler),
    { args: { min: 1 }, interspersed: false },
  ),
  start: cmd('start', 'Start services', services, [], () => lifecycle().then((m) => m.start as Handler)),
  stop: cmd('stop', 'Stop services', `[OPTIONS] ${services}`, [timeout], () => lifecycle().then((m) => m.stop as Handler)),
  restart: cmd(
    'restart',
    'Restart service containers',
    `[OPTIONS] ${services}`,
    [{ long: 'no-deps', type: 'bool', description: "Don't restart dependent services" }, timeout],
    () => lifecycle().then((m) => m.restart as Handler),
  ),
  rm: cmd(
    'rm',
    'Removes stopped service containers',
    `[OPTIONS] ${services}`,
    [
      { long: 'force', short: 'f', type: 'bool', description: "Don't ask to confirm removal" },
      { long: 'stop', short: 's', type: 'bool', description: 'Stop the containers, if required, before removing' },
      { long: 'volumes', short: 'v', type: 'bool', description: 'Remove any anonymous volumes attached to containers' },
    ],
    () => lifecycle().then((m) => m.rm as Handler),
  ),
  kill: cmd(
    'kill',
    'Force stop service containers',
    `[OPTIONS] ${services}`,
    [
      removeOrphans,
      { long: 'signal', short: 's', type: 'string', default: 'SIGKILL', description: 'SIGNAL to send to the container' },
    ],
    () => lifecycle().then((m) => m.kill as Handler),
  ),
  pause: cmd('pause', 'Pause services', services, [], () => lifecycle().then((m) => m.pause as Handler)),
  unpause: cmd('unpause', 'Unpause services', services, [], () => lifecycle().then((m) => m.unpause as Handler)),
  top: cmd('top', 'Display the running processes', services, [], () => misc().then((m) => m.top as Handler)),
  port: cmd(
    'port',
    'Print the public port for a port binding',
    '[OPTIONS] SERVICE PRIVATE_PORT',
    [
      indexFlag,
      { long: 'protocol', type: 'string', default: 'tcp', description: 'tcp or udp' },
    ],
    () => misc().then((m) => m.port as Handler),
    { args: { min: 2, max: 2 } },
  ),
  cp: cmd(
    'cp',
    'Copy files/folders between a service container and the local filesystem',
    '[OPTIONS] SERVICE:SRC_PATH DEST_PATH|-\n\tberth compose cp [OPTIONS] SRC_PATH|- SERVICE:DEST_PATH',
    [
      { long: 'all', type: 'bool', description: 'Include containers created by the run command' },
      { long: 'archive', short: 'a', type: 'bool', description: 'Archive mode (copy all uid/gid information)' },
      { long: 'follow-link', short: 'L', type: 'bool', description: 'Always follow symbol link in SRC_PATH' },
      { long: 'index', type: 'int', description: 'Index of the container if service has multiple replicas' },
    ],
    () => copy().then((m) => m.cp as Handler),
    { args: { min: 2, max: 2 } },
  ),
  ls: cmd(
    'ls',
    'List running compose projects',
    '[OPTIONS]',
    [
      { long: 'all', short: 'a', type: 'bool', description: 'Show all stopped Compose projects' },
      { long: 'filter', type: 'filter', description: 'Filter output based on conditions provided' },
      { long: 'format', type: 'string', default: 'table', description: 'Format the output. Values: [table | json]' },
      quietFlag('Only display project names'),
    ],
    () => listing().then((m) => m.ls as Handler),
    { args: { max: 0 } },
  ),
  scale: cmd(
    'scale',
    'Scale services ',
    '[SERVICE=REPLICAS...]',
    [noDeps],
    () => up().then((m) => m.scale as Handler),
    { args: { min: 1 } },
  ),
  wait: cmd(
    'wait',
    'Block until containers of all (or specified) services stop.',
    'SERVICE [SERVICE...] [OPTIONS]',
    [{ long: 'down-project', type: 'bool', description: 'Drops project when the first container stops' }],
    () => misc().then((m) => m.wait as Handler),
    { args: { min: 1 } },
  ),
  events: cmd(
    'events',
    'Receive real time events from containers',
    `[OPTIONS] ${services}`,
    [{ long: 'json', type: 'bool', description: 'Output events as a stream of json objects' }],
    () => misc().then((m) => m.events as Handler),
  ),
  version: cmd(
    'version',
    'Show the Docker Compose version information',
    '[OPTIONS]',
    [
      { long: 'format', short: 'f', type: 'string', description: 'Format the output. Values: [pretty | json]' },
      { long: 'short', type: 'bool', description: "Shows only Compose's version number" },
    ],
    () => misc().then((m) => m.version as Handler),
    { args: { max: 0 } },
  ),
};
