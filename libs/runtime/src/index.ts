export * from './oci-spec.js';
export {
  generateSpec,
  resourceLimits,
  computeCapabilities,
  defaultCapabilities,
  allCapabilities,
  defaultMaskedPaths,
  defaultReadonlyPaths,
  defaultInitPath,
  defaultPath,
  type SpecOptions,
  type NamespaceMode,
} from './generate-spec.js';
export { deviceNodes, type OciDevice } from './host-devices.js';
export { convertSeccompProfile, dockerDefaultSeccompProfile, type DockerSeccompProfile } from './seccomp.js';
export { hostRlimits, rlimitNames, type HostRlimit } from './host-limits.js';
export { resolveUser, resolveGroups, securePath, type ResolvedUser } from './resolve-user.js';
export { resolveCommand, type ImageCommand, type CommandOverride } from './resolve-command.js';
export { ConmonRuntime, type ConmonRuntimeOptions } from './conmon-runtime.js';
export { cleanRuntimeError } from './runtime-errors.js';
export type {
  CreateOptions,
  RuntimeState,
  ExecOptions,
  ExecResult,
  ExecProcess,
  ExecInteractiveOptions,
  RuntimeCheck,
} from './runtime-types.js';
export type { RuntimeDriver, RuntimeExits, RuntimeIo, RuntimeLifecycle, RuntimeStats, RuntimeUpdate } from './runtime-driver.js';
export type { ExecSession } from './exec-session.js';
export { demuxFrames, ensureAttachRelay, type AttachSession } from './attach.js';
export { makeBusyboxRootfs } from './busybox-rootfs.js';
export { changeTicks } from './change-ticks.js';
export { readLogs, logTimeNs, parseTimestamp, parseK8sRecord, type LogEntry, type ReadLogsOptions } from './k8s-log.js';
export type { ContainerStats, TopResult } from './cgroup-stats.js';
export { parseBlkioFile, parseNetDev, type BlkioEntry, type BlkioStats, type InterfaceStats } from './io-stats.js';
export { ensureVolatileDir } from './volatile-dir.js';
