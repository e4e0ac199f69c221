import { commandsIn, type GroupDef, labelFlag, noCacheFlag, pruneCommand, quietFlag } from './command-def.js';

/** `berth build` and the `builder` group: usage, flags, argument rules. */

const builds = () => import('./commands/build.js');
const fromBuilds = commandsIn(builds);

export const build = fromBuilds('build', {
  usage: '[OPTIONS] PATH | -',
  description: 'Build an image from a Dockerfile',
  flags: [
    { long: 'add-host', type: 'list', description: 'Add a custom host-to-IP mapping (format: "host:ip")' },
    { long: 'build-arg', type: 'list', description: 'Set build-time variables' },
    { long: 'build-context', type: 'list', description: 'Additional build contexts (e.g., name=path)' },
    { long: 'cache-from', type: 'list', description: 'External cache sources (e.g., "type=registry,ref=host/repo:cache")' },
    { long: 'cache-to', type: 'list', description: 'Cache export destinations (e.g., "type=registry,ref=host/repo:cache")' },
    { long: 'file', short: 'f', type: 'string', description: 'Name of the Dockerfile (default: "PATH/Dockerfile")' },
    { long: 'iidfile', type: 'string', description: 'Write the image ID to a file' },
    labelFlag('Set metadata for an image'),
    noCacheFlag,
    { long: 'network', type: 'string', default: 'default', description: 'Set the networking mode for the "RUN" instructions during build' },
    { long: 'no-cache-filter', type: 'list', description: 'Do not cache specified stages' },
    { long: 'output', short: 'o', type: 'string', description: 'Output destination (format: "type=local,dest=path")' },
    { long: 'platform', type: 'string', description: 'Set target platform for build' },
    { long: 'progress', type: 'string', default: 'auto', description: 'Set type of progress output ("auto", "plain", "tty", "quiet")' },
    { long: 'pull', type: 'bool', description: 'Always attempt to pull all referenced images' },
    { long: 'push', type: 'bool', description: 'Shorthand for "--output=type=registry": push the tags once built' },
    quietFlag('Suppress the build output and print image ID on success'),
    { long: 'secret', type: 'list', description: 'Secret to expose to the build (format: "id=mysecret[,src=/local/secret]")' },
    { long: 'squash', type: 'bool', description: 'Squash newly built layers into a single new layer' },
    { long: 'ssh', type: 'list', description: 'SSH agent socket or keys to expose to the build (not supported by Berth)' },
    { long: 'tag', short: 't', type: 'list', description: 'Name and optionally a tag (format: "name:tag")' },
    { long: 'target', type: 'string', description: 'Set the target build stage to build' },
  ],
});

export const builderGroup: GroupDef = {
  name: 'builder',
  description: 'Manage builds',
  commands: {
    build,
    prune: pruneCommand('Remove build cache', () => builds().then((m) => m.builderPrune), { all: 'Remove all unused build cache, not just dangling ones' }),
  },
};
