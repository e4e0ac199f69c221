export * from './types.js';
export {
  ContainerManager,
  mergeConfig,
  mergeEnv,
  type ContainerManagerOptions,
  type LogsOptions,
} from './container-manager.js';
export type { ContainerInspect } from './inspect.js';
export type { HealthWaitOptions, HealthWaitResult } from './container-health.js';
export { healthDefaults, type HealthConfig } from './health-config.js';
export type { HealthClock } from './health-monitor.js';
export type { Health, HealthLogEntry, HealthStatus } from './health-state.js';
export { parseSecurityOpts } from './security-options.js';
export type { ContainerSnapshotter, ImageConfigLike, ImageSource, MountSpec } from './dependencies.js';
/** The runtime roles the manager drives (@berth/runtime); re-exported for callers that build one. */
export type { RuntimeDriver } from '@berth/runtime';
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
