import { build } from './build-commands.js';
import { allFlag, changeFlag, commandsIn, filterFlag, forceFlag, formatFlag, type GroupDef, inspectFormatFlag, noTruncFlag, outputFileFlag, quietFlag, withName } from './command-def.js';
import { imagePrune } from './prune-search-commands.js';

/** The image commands (`images`, `pull`, `push`, `login`, …, and the `image` group): usage, flags, argument rules. */

const fromInspect = commandsIn(() => import('./commands/inspect.js'));

const fromImages = commandsIn(() => import('./commands/images.js'));
const fromImageStreams = commandsIn(() => import('./commands/image-streams.js'));

const fromRegistry = commandsIn(() => import('./commands/registry.js'));

export const imagesCommand = fromImages('images', {
  usage: '[OPTIONS] [REPOSITORY[:TAG]]',
  description: 'List images',
  flags: [
    allFlag('Show all images (default hides intermediate images)'),
    { long: 'digests', type: 'bool', description: 'Show digests' },
    filterFlag('f'),
    formatFlag(),
    noTruncFlag,
    quietFlag('Only show image IDs'),
    { long: 'tree', type: 'bool', description: 'List multi-platform images as a tree (EXPERIMENTAL)' },
  ],
});

export const imageInspect = fromInspect('imageInspect', {
  name: 'inspect',
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  description: 'Display detailed information on one or more images',
  flags: [inspectFormatFlag],
});

export const history = fromImages('history', {
  usage: '[OPTIONS] IMAGE',
  description: 'Show the history of an image',
  flags: [
    formatFlag(),
    { long: 'human', short: 'H', type: 'bool', default: true, description: 'Print sizes and dates in human readable format' },
    noTruncFlag,
    quietFlag('Only show image IDs'),
  ],
});

export const tag = fromImages('tag', {
  usage: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
  description: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
});

export const rmi = fromImages('rmi', {
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  description: 'Remove one or more images',
  flags: [
    forceFlag('Force removal of the image'),
    { long: 'no-prune', type: 'bool', description: 'Do not delete untagged parents' },
  ],
});

export const importCommand = fromImageStreams('importImage', {
  name: 'import',
  usage: '[OPTIONS] file|- [REPOSITORY[:TAG]]',
  description: 'Import the contents from a tarball to create a filesystem image',
  flags: [
    changeFlag,
    { long: 'message', short: 'm', type: 'string', description: 'Set commit message for imported image' },
  ],
});

export const save = fromImageStreams('save', {
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  description: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
  flags: [outputFileFlag],
});

export const load = fromImageStreams('load', {
  usage: '[OPTIONS]',
  description: 'Load an image from a tar archive or STDIN',
  flags: [
    { long: 'input', short: 'i', type: 'string', description: 'Read from tar archive file, instead of STDIN' },
    quietFlag('Suppress the load output'),
  ],
});

export const bootstrap = fromImageStreams('bootstrap', {
  usage: 'busybox|debian [NAME[:TAG]]',
  description: 'Make a base image without a registry (busybox from busybox-static, debian with debootstrap)',
});

export const pull = fromRegistry('pull', {
  usage: '[OPTIONS] NAME[:TAG|@DIGEST]',
  description: 'Download an image from a registry',
  flags: [
    { long: 'all-tags', short: 'a', type: 'bool', description: 'Download all tagged images in the repository' },
    { long: 'platform', type: 'string', description: 'Set platform if server is multi-platform capable' },
    quietFlag('Suppress verbose output'),
  ],
});

export const push = fromRegistry('push', {
  usage: '[OPTIONS] NAME[:TAG]',
  description: 'Upload an image to a registry',
  flags: [
    { long: 'all-tags', short: 'a', type: 'bool', description: 'Push all tags of an image to the repository' },
    quietFlag('Suppress verbose output'),
  ],
});

export const login = fromRegistry('login', {
  usage: '[OPTIONS] [SERVER]',
  description: 'Log in to a registry',
  flags: [
    { long: 'password', short: 'p', type: 'string', description: 'Password' },
    { long: 'password-stdin', type: 'bool', description: 'Take the password from stdin' },
    { long: 'username', short: 'u', type: 'string', description: 'Username' },
  ],
});

export const logout = fromRegistry('logout', {
  usage: '[SERVER]',
  description: 'Log out from a registry',
});

export const imageGroup: GroupDef = {
  name: 'image',
  description: 'Manage images',
  commands: {
    bootstrap,
    build,
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
