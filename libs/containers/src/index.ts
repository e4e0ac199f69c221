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
