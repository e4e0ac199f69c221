import { allFlag, type CommandDef, commandsIn, detachFlag, filterFlag, forceFlag, formatFlag, noCacheFlag, noTruncFlag, quietFlag } from '../command-def.js';
import type { FlagSpec } from '../flags.js';

/**
 * The `berth compose` commands that talk to the platform (everything but `config`), with Docker
 * Compose v2's usage lines, flags and descriptions. Handlers live in ./*.ts beside this file and
 * are imported only when their command runs.
 */

const fromUp = commandsIn(() => import('./up.js'));
const fromDown = commandsIn(() => import('./down.js'));
const fromListing = commandsIn(() => import('./listing.js'));
const fromLogs = commandsIn(() => import('./logs.js'));
const fromLifecycle = commandsIn(() => import('./lifecycle.js'));
const fromExecRun = commandsIn(() => import('./exec-run.js'));
const fromImages = commandsIn(() => import('./images.js'));
const fromMisc = commandsIn(() => import('./misc.js'));
const fromCopy = commandsIn(() => import('./copy.js'));

const timeout: FlagSpec = { long: 'timeout', short: 't', type: 'int', description: 'Specify a shutdown timeout in seconds' };
const pullFlag: FlagSpec = { long: 'pull', type: 'string', default: 'policy', description: 'Pull image before running ("always"|"missing"|"never"|"build")' };
const services = '[SERVICE...]';
const removeOrphans: FlagSpec = { long: 'remove-orphans', type: 'bool', description: 'Remove containers for services not defined in the Compose file' };
const noDeps: FlagSpec = { long: 'no-deps', type: 'bool', description: "Don't start linked services" };
const noColor: FlagSpec = { long: 'no-color', type: 'bool', description: 'Produce monochrome output' };
const noLogPrefix: FlagSpec = { long: 'no-log-prefix', type: 'bool', description: "Don't print prefix in logs" };
const quietPull: FlagSpec = { long: 'quiet-pull', type: 'bool', description: 'Pull without printing progress information' };
const indexFlag: FlagSpec = { long: 'index', type: 'int', default: 1, description: 'Index of the container if service has multiple replicas' };
// `exec`'s and `run`'s; Compose keeps STDIN open unless `-i=false`, where `docker exec` does not.
const envFlag: FlagSpec = { long: 'env', short: 'e', type: 'list', description: 'Set environment variables' };
const interactiveFlag: FlagSpec = { long: 'interactive', short: 'i', type: 'bool', default: true, description: 'Keep STDIN open even if not attached' };

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
  up: fromUp('up', {
    usage: `[OPTIONS] ${services}`,
    description: 'Create and start containers',
    flags: [
      ...createFlags,
      { long: 'abort-on-container-exit', type: 'bool', description: 'Stops all containers if any container was stopped. Incompatible with -d' },
      { long: 'abort-on-container-failure', type: 'bool', description: 'Stops all containers if any container exited with failure. Incompatible with -d' },
      { long: 'attach', type: 'list', description: 'Restrict attaching to the specified services. Incompatible with --attach-dependencies.' },
      { long: 'no-attach', type: 'list', description: "Do not attach (stream logs) to the specified services" },
      detachFlag('Detached mode: Run containers in the background'),
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
  }),
  create: fromUp('create', { usage: `[OPTIONS] ${services}`, description: 'Creates containers for a service', flags: createFlags }),
  down: fromDown('down', {
    usage: `[OPTIONS] ${services}`,
    description: 'Stop and remove containers, networks',
    flags: [
      removeOrphans,
      { long: 'rmi', type: 'string', description: 'Remove images used by services. "local" remove only images that don\'t have a custom tag ("local"|"all")' },
      timeout,
      { long: 'volumes', short: 'v', type: 'bool', description: 'Remove named volumes declared in the "volumes" section of the Compose file and anonymous volumes attached to containers' },
    ],
  }),
  ps: fromListing('ps', {
    usage: `[OPTIONS] ${services}`,
    description: 'List containers',
    flags: [
      allFlag('Show all stopped containers (including those created by the run command)'),
      { long: 'filter', type: 'string', description: 'Filter services by a property (supported filters: status)' },
      { long: 'format', type: 'string', default: 'table', description: 'Format output using a custom template: \'table\', \'table TEMPLATE\', \'json\', \'TEMPLATE\'' },
      noTruncFlag,
      { long: 'orphans', type: 'bool', default: true, description: 'Include orphaned services (not declared by project)' },
      quietFlag('Only display IDs'),
      { long: 'services', type: 'bool', description: 'Display services' },
      { long: 'status', type: 'list', description: 'Filter services by status. Values: [paused | restarting | removing | running | dead | created | exited]' },
    ],
  }),
  logs: fromLogs('logs', {
    usage: `[OPTIONS] ${services}`,
    description: 'View output from containers',
    flags: [
      { long: 'follow', short: 'f', type: 'bool', description: 'Follow log output' },
      { long: 'index', type: 'int', description: 'index of the container if service has multiple replicas' },
      noColor,
      noLogPrefix,
      { long: 'since', type: 'string', description: 'Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)' },
      { long: 'tail', short: 'n', type: 'string', default: 'all', description: 'Number of lines to show from the end of the logs for each container' },
      { long: 'timestamps', short: 't', type: 'bool', description: 'Show timestamps' },
      { long: 'until', type: 'string', description: 'Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)' },
    ],
  }),
  build: fromImages('build', {
    usage: `[OPTIONS] ${services}`,
    description: 'Build or rebuild services',
    flags: [
      { long: 'build-arg', type: 'list', description: 'Set build-time variables for services' },
      noCacheFlag,
      { long: 'pull', type: 'bool', description: 'Always attempt to pull a newer version of the image' },
      { long: 'push', type: 'bool', description: 'Push service images' },
      quietFlag("Don't print anything to STDOUT"),
      { long: 'with-dependencies', type: 'bool', description: 'Also build dependencies (transitively)' },
    ],
  }),
  pull: fromImages('pull', {
    usage: `[OPTIONS] ${services}`,
    description: 'Pull service images',
    flags: [
      { long: 'ignore-buildable', type: 'bool', description: 'Ignore images that can be built' },
      { long: 'ignore-pull-failures', type: 'bool', description: 'Pull what it can and ignores images with pull failures' },
      { long: 'include-deps', type: 'bool', description: 'Also pull services declared as dependencies' },
      { long: 'policy', type: 'string', description: 'Apply pull policy ("missing"|"always")' },
      quietFlag('Pull without printing progress information'),
    ],
  }),
  push: fromImages('push', {
    usage: `[OPTIONS] ${services}`,
    description: 'Push service images',
    flags: [
      { long: 'ignore-push-failures', type: 'bool', description: 'Push what it can and ignores images with push failures' },
      { long: 'include-deps', type: 'bool', description: 'Also push images of services declared as dependencies' },
      quietFlag('Push without printing progress information'),
    ],
  }),
  images: fromImages('images', {
    usage: `[OPTIONS] ${services}`,
    description: 'List images used by the created containers',
    flags: [
      { long: 'format', type: 'string', default: 'table', description: 'Format the output. Values: [table | json]' },
      quietFlag('Only display IDs'),
    ],
  }),
  exec: fromExecRun('exec', {
    usage: '[OPTIONS] SERVICE COMMAND [ARGS...]',
    description: 'Execute a command in a running container',
    flags: [
      detachFlag('Detached mode: Run command in the background'),
      envFlag,
      indexFlag,
      interactiveFlag,
      { long: 'no-TTY', short: 'T', type: 'bool', description: 'Disable pseudo-TTY allocation. By default `docker compose exec` allocates a TTY.' },
      { long: 'privileged', type: 'bool', description: 'Give extended privileges to the process' },
      { long: 'user', short: 'u', type: 'string', description: 'Run the command as this user' },
      { long: 'workdir', short: 'w', type: 'string', description: 'Path to workdir directory for this command' },
    ],
    interspersed: false,
  }),
  run: fromExecRun('run', {
    usage: '[OPTIONS] SERVICE [COMMAND] [ARGS...]',
    description: 'Run a one-off command on a service',
    flags: [
      { long: 'build', type: 'bool', description: 'Build image before starting container' },
      detachFlag('Run container in background and print container ID'),
      { long: 'entrypoint', type: 'string', description: 'Override the entrypoint of the image' },
      envFlag,
      interactiveFlag,
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
    interspersed: false,
  }),
  start: fromLifecycle('start', { usage: services, description: 'Start services' }),
  stop: fromLifecycle('stop', { usage: `[OPTIONS] ${services}`, description: 'Stop services', flags: [timeout] }),
  restart: fromLifecycle('restart', {
    usage: `[OPTIONS] ${services}`,
    description: 'Restart service containers',
    flags: [{ long: 'no-deps', type: 'bool', description: "Don't restart dependent services" }, timeout],
  }),
  rm: fromLifecycle('rm', {
    usage: `[OPTIONS] ${services}`,
    description: 'Removes stopped service containers',
    flags: [
      forceFlag("Don't ask to confirm removal"),
      { long: 'stop', short: 's', type: 'bool', description: 'Stop the containers, if required, before removing' },
      { long: 'volumes', short: 'v', type: 'bool', description: 'Remove any anonymous volumes attached to containers' },
    ],
  }),
  kill: fromLifecycle('kill', {
    usage: `[OPTIONS] ${services}`,
    description: 'Force stop service containers',
    flags: [
      removeOrphans,
      { long: 'signal', short: 's', type: 'string', default: 'SIGKILL', description: 'SIGNAL to send to the container' },
    ],
  }),
  pause: fromLifecycle('pause', { usage: services, description: 'Pause services' }),
  unpause: fromLifecycle('unpause', { usage: services, description: 'Unpause services' }),
  top: fromMisc('top', { usage: services, description: 'Display the running processes' }),
  port: fromMisc('port', {
    usage: '[OPTIONS] SERVICE PRIVATE_PORT',
    description: 'Print the public port for a port binding',
    flags: [
      indexFlag,
      { long: 'protocol', type: 'string', default: 'tcp', description: 'tcp or udp' },
    ],
  }),
  cp: fromCopy('cp', {
    usage: '[OPTIONS] SERVICE:SRC_PATH DEST_PATH|-\n\tberth compose cp [OPTIONS] SRC_PATH|- SERVICE:DEST_PATH',
    description: 'Copy files/folders between a service container and the local filesystem',
    flags: [
      { long: 'all', type: 'bool', description: 'Include containers created by the run command' },
      { long: 'archive', short: 'a', type: 'bool', description: 'Archive mode (copy all uid/gid information)' },
      { long: 'follow-link', short: 'L', type: 'bool', description: 'Always follow symbol link in SRC_PATH' },
      { long: 'index', type: 'int', description: 'Index of the container if service has multiple replicas' },
    ],
    args: { min: 2, max: 2 }, // the usage has two lines: its words are not one argument list
  }),
  ls: fromListing('ls', {
    usage: '[OPTIONS]',
    description: 'List running compose projects',
    flags: [
      allFlag('Show all stopped Compose projects'),
      filterFlag(),
      { long: 'format', type: 'string', default: 'table', description: 'Format the output. Values: [table | json]' },
      quietFlag('Only display project names'),
    ],
  }),
  // At least one SERVICE=REPLICAS, although Docker Compose's usage line brackets it.
  scale: fromUp('scale', { usage: '[SERVICE=REPLICAS...]', description: 'Scale services ', flags: [noDeps], args: { min: 1 } }),
  wait: fromMisc('wait', {
    usage: 'SERVICE [SERVICE...] [OPTIONS]',
    description: 'Block until containers of all (or specified) services stop.',
    flags: [{ long: 'down-project', type: 'bool', description: 'Drops project when the first container stops' }],
  }),
  events: fromMisc('events', {
    usage: `[OPTIONS] ${services}`,
    description: 'Receive real time events from containers',
    flags: [{ long: 'json', type: 'bool', description: 'Output events as a stream of json objects' }],
  }),
  version: fromMisc('version', {
    usage: '[OPTIONS]',
    description: 'Show the Docker Compose version information',
    flags: [
      { ...formatFlag('Format the output. Values: [pretty | json]'), short: 'f' },
      { long: 'short', type: 'bool', description: "Shows only Compose's version number" },
    ],
  }),
};
