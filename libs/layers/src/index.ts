export { applyLayer, cleanLayerPath, OPAQUE_WHITEOUT, OVERLAY_OPAQUE_XATTR, WHITEOUT_PREFIX } from './apply-layer.js';
export type { ApplyLayerOptions, ApplyLayerResult } from './apply-layer.js';
export { packDirectory } from './pack-directory.js';
export type { PackDirectoryOptions, PackedLayer } from './pack-directory.js';
export { listChanges } from './list-changes.js';
export type { Change } from './list-changes.js';
export { encodeHeader, END_OF_ARCHIVE, paddingOf, readTar } from './tar-format.js';
export type { TarEntry, TarEntryType, TarHeader } from './tar-format.js';
export { checkLayerPaths } from './check-layer.js';
