import { build } from './build-commands.js';
import { type GroupDef, def, filterFlag, formatFlag, inspectFormatFlag, withName, quietFlag } from './command-def.js';
import { imagePrune } from './prune-search-commands.js';

/** The image commands (`images`, `pull`, `push`, `login`, …, and the `image` group): usage, flags, argument rules. */

const containers = () => import('./commands/containers.js');

const images = () => import('./commands/images.js');

const registry = () => import('./commands/registry.js');

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
    quietFlag('Only show image IDs'),
    { long: 'tree', type: 'bool', description: 'List multi-platform images as a tree (EXPERIMENTAL)' },
  ],
  args: { max: 1 },
  load: () => images().then((m) => m.images),
});

export const imageInspect = def({
  name: 'inspect',
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  description: 'Display detailed information on one or more images',
  flags: [inspectFormatFlag],
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
    quietFlag('Only show image IDs'),
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
    quietFlag('Suppress the load output'),
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
    quietFlag('Suppress verbose output'),
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
    quietFlag('Suppress verbose output'),
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
