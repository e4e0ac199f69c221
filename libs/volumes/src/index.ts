export {
  VolumeStore,
  ANONYMOUS_LABEL,
  type Volume,
  type CreateVolumeOptions,
  type ListVolumesOptions,
  type PruneVolumesOptions,
  type VolumeEvent,
  type VolumeStoreOptions,
} from './volume-store.js';
export { checkVolumeName, randomVolumeName } from './volume-name.js';
export { parseLocalOptions, type LocalMountOptions } from './local-options.js';
