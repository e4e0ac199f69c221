export * from './types.js';
export {
  ContainerManager,
  mergeConfig,
  mergeEnv,
  type ContainerManagerOptions,
  type LogsOptions,
} from './container-manager.js';
export type { ContainerInspect } from './inspect.js';
export type { ContainerSnapshotter, ImageConfigLike, ImageSource, MountSpec, RuntimeDriver } from './dependencies.js';
export type { DockerStats } from './docker-stats.js';
export { normalizeName, generateName } from './names.js';
export { statusText, humanDuration } from './state.js';
export { ContainerLayout } from './layout.js';
export {
  parseBind,
  planMount,
  resolveMounts,
  prepareMounts,
  inspectMounts,
  type MountOption,
  type MountPoint,
  type MountRequest,
  type VolumeSource,
} from './mounts.js';
export type { ContainerNetworking, ContainerNetworkOptions, NetworkSandbox } from './networking.js';
