export * from './oci-spec.js';
export {
  generateSpec,
  computeCapabilities,
  defaultCapabilities,
  allCapabilities,
  defaultMaskedPaths,
  defaultReadonlyPaths,
  defaultInitPath,
  defaultPath,
  type SpecOptions,
} from './generate-spec.js';
export { convertSeccompProfile, dockerDefaultSeccompProfile, type DockerSeccompProfile } from './seccomp.js';
export { hostRlimits, type HostRlimit } from './host-limits.js';
export { resolveUser, securePath, type ResolvedUser } from './resolve-user.js';
export { resolveCommand, type ImageCommand, type CommandOverride } from './resolve-command.js';
export {
  ConmonRuntime,
  cleanRuntimeError,
  type ConmonRuntimeOptions,
  type CreateOptions,
  type RuntimeState,
  type ExecOptions,
  type ExecResult,
  type ExecProcess,
  type ExecInteractiveOptions,
  type RuntimeCheck,
} from './conmon-runtime.js';
export type { ExecSession } from './exec-session.js';
export { demuxFrames, ensureAttachRelay, type AttachSession } from './attach.js';
export { makeBusyboxRootfs } from './busybox-rootfs.js';
export { readLogs, parseTimestamp, type LogEntry, type ReadLogsOptions } from './k8s-log.js';
export type { ContainerStats, TopResult } from './cgroup-stats.js';
