export { MAX_MOUNT_OPTIONS_LENGTH, mountAll, mountPoints, unmount } from './mount.js';
export type { Mount } from './mount.js';
export { OverlaySnapshotter } from './overlay-snapshotter.js';
export type { SnapshotInfo, SnapshotKind, SnapshotUsage } from './overlay-snapshotter.js';
export { directorySize } from './directory-size.js';
export { Trash } from './trash.js';
